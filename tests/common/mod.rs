//! Helpers shared by the integration tests (a module, not a test binary of its own).

use std::fs;
use std::path::Path;

/// Copies the folder `from` to `to`, recursively (fixtures the tests then modify).
pub fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for e in fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            fs::copy(e.path(), &target).unwrap();
        }
    }
}
