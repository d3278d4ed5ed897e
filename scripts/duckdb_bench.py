#!/usr/bin/env python3
"""DuckDB doing the work tenken does, on the same files, for scripts/bench.sh.

    duckdb_bench.py load   DATA           read_csv with explicit columns into a table
    duckdb_bench.py rules  DATA           load + ledger joins, the calendar, one rolling window
    duckdb_bench.py ingest DATA OUT       rules + COPY events and findings to Parquet (zstd)

DATA is a `tenken gen` folder (logs/ and ledgers/, UTF-8 CSV). The SQL is a fair share of
tenken's rules, not all of them: designation and terminal joins, output without request
and unmatched request, watch-list access, off-hours against a Monday-Friday calendar with
the national holidays of fixtures/syukujitsu-2000-2030.csv, and auth-failure bursts as a
10-minute RANGE window. It prints one line: rows loaded and findings counted.
"""

import sys
import tomllib

import duckdb

COLUMNS = {
    "event_id": "VARCHAR", "timestamp": "VARCHAR", "terminal_id": "VARCHAR",
    "operator_id": "VARCHAR", "auth_method": "VARCHAR", "operation": "VARCHAR",
    "business_code": "VARCHAR", "target_code": "VARCHAR", "record_count": "BIGINT",
    "request_no": "VARCHAR", "approval_no": "VARCHAR", "ref_event_id": "VARCHAR",
    "result": "VARCHAR", "detail": "VARCHAR",
}


def load(con, data):
    cols = ", ".join(f"'{k}': '{v}'" for k, v in COLUMNS.items())
    # Both timestamp layouts of oplog.md: ISO with an offset, and local JST.
    con.execute(f"""
        CREATE TABLE raw AS SELECT * FROM read_csv('{data}/logs/*/*.csv', header = true,
            columns = {{{cols}}}, auto_detect = false, delim = ',', quote = '"', escape = '"',
            ignore_errors = true, strict_mode = false, parallel = true);
        CREATE TABLE ev AS SELECT * EXCLUDE (timestamp),
            CASE WHEN contains(timestamp, '/')
                 THEN try_cast(replace(timestamp, '/', '-') || '+09:00' AS TIMESTAMPTZ)
                 ELSE try_cast(timestamp AS TIMESTAMPTZ) END AS ts
        FROM raw;
        DROP TABLE raw;
    """)
    return con.execute("SELECT count(*) FROM ev").fetchone()[0]


def rules(con, data):
    with open(f"{data}/ledgers/rules.toml", "rb") as f:
        exempt = tomllib.load(f).get("request_exempt_business_codes", []) or [""]
    con.execute(f"""
        CREATE TABLE ops AS SELECT * FROM read_csv('{data}/ledgers-utf8/operators.csv', header = true, all_varchar = true);
        CREATE TABLE terms AS SELECT * FROM read_csv('{data}/ledgers-utf8/terminals.csv', header = true, all_varchar = true);
        CREATE TABLE reqs AS SELECT * FROM read_csv('{data}/ledgers-utf8/requests.csv', header = true, all_varchar = true);
        CREATE TABLE watch AS SELECT * FROM read_csv('{data}/ledgers-utf8/watchlist.csv', header = true, all_varchar = true);
        CREATE TABLE hol AS SELECT strptime(column0, '%Y/%m/%d')::DATE AS d
            FROM read_csv('{data}/../holidays-utf8.csv', header = true, all_varchar = true,
                          columns = {{'column0': 'VARCHAR', 'column1': 'VARCHAR'}});
        -- Local time in Japan (UTC+9, no daylight saving) without a time-zone database.
        CREATE TABLE e AS SELECT *, make_timestamp((epoch_ms(ts) + 32400000) * 1000) AS lt FROM ev;
        CREATE TABLE findings AS
        WITH des AS (
            SELECT e.event_id, e.operation, e.business_code, e.terminal_id, e.operator_id,
                   o.operator_id AS designated, o.business_codes, o.terminals, o.office
            FROM e LEFT JOIN ops o ON o.operator_id = e.operator_id
              AND CAST(e.lt AS DATE) BETWEEN CAST(o.designated_from AS DATE)
                  AND coalesce(CAST(o.designated_until AS DATE), DATE '9999-12-31')
        )
        SELECT 'undesignated-operator' AS rule_id, event_id FROM des
            WHERE designated IS NULL AND operation <> 'LOGIN_FAIL'
        UNION ALL
        SELECT 'out-of-scope-business', event_id FROM des
            WHERE designated IS NOT NULL AND operation IN ('SEARCH','VIEW','EXTRACT','PRINT','EXPORT','INPUT','DELETE','CORRECT','VERIFY')
              AND business_codes <> '*' AND (business_code IS NULL OR NOT list_contains(string_split(business_codes, ';'), business_code))
        UNION ALL
        SELECT 'unassigned-terminal', d.event_id FROM des d LEFT JOIN terms t ON t.terminal_id = d.terminal_id
            WHERE d.designated IS NOT NULL AND d.operation <> 'LOGIN_FAIL' AND (t.terminal_id IS NULL
              OR (d.terminals = '*' AND t.office <> d.office)
              OR (d.terminals <> '*' AND NOT list_contains(string_split(d.terminals, ';'), d.terminal_id)))
        UNION ALL
        SELECT 'output-without-request', event_id FROM e WHERE result = 'OK' AND request_no IS NULL
            AND (operation IN ('EXTRACT','PRINT','EXPORT') OR (operation = 'VIEW' AND target_code IS NOT NULL
                 AND coalesce(business_code, '') NOT IN (SELECT unnest({exempt}))))
        UNION ALL
        SELECT 'unmatched-request', e.event_id FROM e LEFT JOIN reqs r ON r.request_no = e.request_no
            WHERE e.result = 'OK' AND e.request_no IS NOT NULL AND e.operation IN ('EXTRACT','PRINT','EXPORT','VIEW')
              AND (r.request_no IS NULL OR (r.target_code IS NOT NULL AND e.target_code IS NOT NULL AND r.target_code <> e.target_code)
                   OR CAST(r.received_on AS DATE) > CAST(e.lt AS DATE))
        UNION ALL
        SELECT 'watchlist-access', e.event_id FROM e JOIN watch w ON w.target_code = e.target_code
            WHERE e.result = 'OK' AND (w.allowed_operators IS NULL OR e.operator_id IS NULL
              OR NOT list_contains(string_split(w.allowed_operators, ';'), e.operator_id))
        UNION ALL
        SELECT 'off-hours', event_id FROM e
            WHERE isodow(lt) > 5 OR CAST(lt AS DATE) IN (SELECT d FROM hol)
               OR CAST(lt AS TIME) NOT BETWEEN TIME '08:00:00' AND TIME '17:45:00'
        UNION ALL
        SELECT 'auth-failure-burst', event_id FROM (
            SELECT event_id, count(*) OVER (PARTITION BY operator_id ORDER BY ts
                RANGE BETWEEN INTERVAL 599999 MILLISECONDS PRECEDING AND CURRENT ROW) AS n
            FROM e WHERE operation = 'LOGIN_FAIL') WHERE n >= 5;
    """)
    return con.execute("SELECT count(*) FROM findings").fetchone()[0]


def main():
    mode, data = sys.argv[1], sys.argv[2]
    con = duckdb.connect()
    rows = load(con, data)
    found = rules(con, data) if mode in ("rules", "ingest") else 0
    if mode == "ingest":
        out = sys.argv[3]
        con.execute(f"""
            COPY (SELECT *, year(lt) AS year, month(lt) AS month, day(lt) AS day FROM e ORDER BY ts)
                TO '{out}/events' (FORMAT parquet, COMPRESSION zstd, PARTITION_BY (year, month, day), OVERWRITE_OR_IGNORE);
            COPY findings TO '{out}/findings.parquet' (FORMAT parquet, COMPRESSION zstd);
        """)
    print(f"duckdb {mode}: {rows} rows, {found} findings")


if __name__ == "__main__":
    main()
