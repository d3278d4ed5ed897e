//! Japanese text for the synthetic data: operator names, screen and form names, remarks.
//!
//! Every string here must be encodable in CP932 (Shift_JIS as Windows writes it), because
//! some offices export their logs in it: no wave dash `〜`, no minus sign `−`, no characters
//! outside JIS X 0208 and the NEC/IBM extensions. A unit test encodes every entry.
//! A few details hold commas and double quotes on purpose, so that CSV quoting and the
//! `\"` escapes of key-value lines are exercised.

use crate::model::Op;

/// Family names (姓).
pub const SURNAMES: &[&str] = &[
    "佐藤",
    "鈴木",
    "高橋",
    "田中",
    "伊藤",
    "渡辺",
    "山本",
    "中村",
    "小林",
    "加藤",
    "吉田",
    "山田",
    "佐々木",
    "山口",
    "松本",
    "井上",
    "木村",
    "林",
    "斎藤",
    "清水",
    "山崎",
    "森",
    "池田",
    "橋本",
    "阿部",
    "石川",
    "前田",
    "藤田",
    "小川",
    "岡田",
];

/// Given names (名).
pub const GIVEN_NAMES: &[&str] = &[
    "太郎",
    "花子",
    "健一",
    "美咲",
    "大輔",
    "由美",
    "翔太",
    "陽子",
    "直樹",
    "恵",
    "隆",
    "裕子",
    "誠",
    "明美",
    "学",
    "真由美",
    "浩二",
    "智子",
    "拓也",
    "香織",
    "亮",
    "奈々",
    "和也",
    "優子",
];

/// Titles of the managers who sign mass-output approvals (`approved_by`).
pub const APPROVERS: &[&str] = &[
    "区民課長",
    "戸籍住民サービス課長",
    "情報資産管理責任者",
    "区民センター室長",
];

/// Reasons a resident is on the watch list (支援措置対象者等).
pub const WATCH_REASONS: &[&str] = &[
    "DV等支援措置",
    "ストーカー行為等支援措置",
    "児童虐待支援措置",
    "職員及びその家族",
    "公人",
];

/// Remarks on a log-in.
pub fn login(pin: bool) -> &'static str {
    if pin {
        "照合暗証番号による認証"
    } else {
        "照合情報（静脈）による認証"
    }
}

/// Remarks on a failed log-in.
pub const LOGIN_FAIL: &[&str] = &[
    "照合情報不一致",
    "照合暗証番号誤り",
    "操作者IDまたは暗証番号が正しくありません",
];

/// Remarks on a log-out.
pub const LOGOUT: &[&str] = &["ログアウト", "業務終了", "画面終了（ログアウト）"];

/// Search screens; some with conditions that need CSV quoting.
pub const SEARCH: &[&str] = &[
    "本人確認情報照会 検索",
    "住民票コード検索",
    "検索条件: 氏名カナ, 生年月日",
    "検索条件: 氏名=\"ヤマダ タロウ\", 性別=男",
    "4情報検索（氏名, 住所, 生年月日, 性別）",
    "異動履歴検索",
];

/// Remarks on a failed search.
pub const SEARCH_FAIL: &[&str] = &[
    "該当者なし",
    "検索条件エラー: 生年月日の形式が不正です",
    "タイムアウト（コミュニケーションサーバ応答なし）",
];

/// The screen a resident's record is shown on, by business code.
pub fn view(business: &str) -> &'static str {
    match business {
        "W01" => "住民票の写し 広域交付 照会",
        "W02" => "転出証明書情報 照会",
        "W03" => "転入通知情報 照会",
        "U01" => "本人確認情報 照会",
        "C01" => "住民票コード 照会",
        "Z01" => "整合性確認 照会",
        "L01" | "L02" | "L03" => "一覧表 明細照会",
        _ => "本人確認情報 照会",
    }
}

/// The form printed for one resident, by business code.
pub fn print_one(business: &str) -> &'static str {
    match business {
        "W01" => "住民票の写し 広域交付",
        "W02" => "転出証明書",
        "W03" => "転入通知確認書",
        "C01" => "住民票コード通知票",
        _ => "本人確認情報 画面印刷（帳票）",
    }
}

/// The list printed or extracted, by business code.
pub fn list(business: &str) -> &'static str {
    match business {
        "L01" => "処理件数一覧表",
        "L02" => "本人確認情報整合結果リスト",
        "L03" => "本人確認情報リスト",
        "W01" => "広域交付 処理一覧",
        "W02" => "転出証明書 交付一覧",
        "W03" => "転入通知 処理一覧",
        _ => "処理結果一覧",
    }
}

/// Conditions of an extraction, appended to the list's name.
pub const EXTRACT_CONDITIONS: &[&str] = &[
    "（条件: 異動日, 地区）",
    "（条件: 処理日=本日）",
    "（抽出条件: \"転入\", \"転居\"）",
    "",
];

/// The change screens, by operation.
pub fn change(op: Op, business: &str) -> &'static str {
    match (op, business) {
        (Op::Input, "W03") => "転入通知 入力",
        (Op::Input, "C01") => "住民票コード付番 入力",
        (Op::Input, _) => "本人確認情報 入力",
        (Op::Correct, _) => "本人確認情報 訂正（住所, 氏名）",
        (Op::Delete, _) => "本人確認情報 削除（職権）",
        _ => "本人確認情報 更新",
    }
}

/// Remarks on a verification (照合).
pub const VERIFY: &[&str] = &[
    "照合（入力内容確認）",
    "訂正内容 照合",
    "ダブルチェック 照合済み",
];

/// Remarks on a failed verification.
pub const VERIFY_FAIL: &[&str] = &["照合エラー: 内容不一致", "照合中断"];

/// Remarks on a screen hard copy.
pub const HARDCOPY: &[&str] = &["画面ハードコピー（PrintScreen）", "画面ハードコピー 取得"];

/// Remarks on a storage device being connected.
pub const DEVICE: &[&str] = &[
    "USBメモリ接続を検知",
    "外部記録媒体 接続（デバイス制御により遮断）",
    "スマートフォン接続を検知（MTP）",
];

/// Remarks on a mass output made under an approval.
pub const MASS_OUTPUT: &str = "大量出力（承認済み）";

#[cfg(test)]
mod tests {
    use super::*;

    fn all_texts() -> Vec<&'static str> {
        let codes = [
            "W01", "W02", "W03", "L01", "L02", "L03", "U01", "C01", "Z01", "X",
        ];
        let mut v: Vec<&'static str> = Vec::new();
        for list in [
            SURNAMES,
            GIVEN_NAMES,
            APPROVERS,
            WATCH_REASONS,
            LOGIN_FAIL,
            LOGOUT,
            SEARCH,
            SEARCH_FAIL,
            EXTRACT_CONDITIONS,
            VERIFY,
            VERIFY_FAIL,
            HARDCOPY,
            DEVICE,
        ] {
            v.extend_from_slice(list);
        }
        for c in codes {
            v.extend([view(c), print_one(c), list(c)]);
            for op in [Op::Input, Op::Correct, Op::Delete, Op::View] {
                v.push(change(op, c));
            }
        }
        v.extend([login(true), login(false), MASS_OUTPUT]);
        v
    }

    #[test]
    fn every_text_encodes_in_cp932() {
        for s in all_texts() {
            let (_, _, unmappable) = encoding_rs::SHIFT_JIS.encode(s);
            assert!(!unmappable, "not encodable in CP932: {s}");
            assert!(!s.contains('\n') && !s.contains('\r') && !s.contains('\\'));
        }
    }

    #[test]
    fn some_texts_need_quoting() {
        let texts = all_texts();
        assert!(texts.iter().any(|s| s.contains(',')));
        assert!(texts.iter().any(|s| s.contains('"')));
    }
}
