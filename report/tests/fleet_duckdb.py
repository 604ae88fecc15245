"""Run by fleet_duckdb.rs in a fleet's output folder: each query given (the README's) over 'timeline.parquet' and
again with read_json_auto('timeline.jsonl') in its place, plus total rows, rows per host, null counts per column
and column types of both, as one JSON document on stdout (every value as str(), every result column's type).

    python3 fleet_duckdb.py QUERIES_JSON        (cwd: the fleet's OUT)
"""
import json
import sys

import duckdb

PARQUET = "'timeline.parquet'"
JSONL = "read_json_auto('timeline.jsonl')"


def rows(con, sql):
    rel = con.sql(sql)
    return {"types": [str(t) for t in rel.types], "rows": [[None if v is None else str(v) for v in r] for r in rel.fetchall()]}


def side(con, src):
    cols = [(name, str(ty)) for name, ty, *_ in con.sql(f"DESCRIBE SELECT * FROM {src}").fetchall()]
    nulls = con.sql("SELECT " + ", ".join(f'count(*) FILTER (WHERE "{c}" IS NULL)' for c, _ in cols) + f" FROM {src}").fetchall()[0]
    return {
        "columns": cols,
        "total": con.sql(f"SELECT count(*) FROM {src}").fetchall()[0][0],
        "per_host": [list(r) for r in con.sql(f"SELECT hostname, count(*) FROM {src} GROUP BY hostname ORDER BY hostname").fetchall()],
        "nulls": dict(zip([c for c, _ in cols], nulls)),
    }


def main():
    queries = json.loads(sys.argv[1])
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")  # date_trunc on a TIMESTAMPTZ works in the session's zone
    out = {"duckdb": duckdb.__version__, "parquet": side(con, PARQUET), "jsonl": side(con, JSONL), "queries": []}
    for q in queries:
        out["queries"].append({"sql": q, "parquet": rows(con, q), "jsonl": rows(con, q.replace(PARQUET, JSONL))})
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
