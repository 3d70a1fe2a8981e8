"""Build ``sample_data/divisions/divisions.csv``: the division table the address parser reads.

From ``../shared/data/chengdu_admin``:

- every province, city, district and town (街道/镇/乡, 39,479 of them) of China with its official
  12-digit code (National Bureau of Statistics codes via AreaCity-JsSpider-StatsGov, data version
  2023), so that addresses from anywhere parse down to the town;
- towns that jionlp still lists but that the 2019-2020 mergers abolished (old addresses use
  them), and Chengdu's 4,366 社区/村 names from jionlp. These have no official code in the
  data, so they get one in the same structure (``code_synthetic=True``): a town under its
  district as ``DDDDDD8NN000``, a community under its town as ``TTTTTTTTTNNN``.

Run from the repository root: ``python sample_data/build_divisions.py``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
LEVELS = {0: "province", 1: "city", 2: "district", 3: "town"}
ZONES = ("成都高新技术产业开发区", "天府新区")  # functional zones the NBS table does not list
CHENGDU = "510100000000"
# two farms are written with a full-width digit (八五０农场): division names hold no digits
# (the parser reads divisions from the text before its first digit), so 〇 stands for it
NUMERALS = str.maketrans("０１２３４５６７８９0123456789", "〇一二三四五六七八九" * 2)


def official(shared: Path) -> pd.DataFrame:
    nbs = pd.read_csv(shared / "china_areacity_level4_full.csv", dtype=str, encoding="utf-8-sig")
    nbs["deep"] = nbs["deep"].astype(int)
    keep = nbs[nbs["deep"] <= 3].copy()
    # AreaCity splits 重庆市 into 重庆城区 and 重庆郊县 (NBS: 市辖区, 县); addresses say 重庆市
    chongqing = keep["ext_name"].isin(["重庆城区", "重庆郊县"])
    keep.loc[chongqing, ["ext_name", "name"]] = ["重庆市", "重庆"]
    parents = dict(zip(nbs["id"], nbs["ext_id"], strict=True))
    return pd.DataFrame(
        {
            "code": keep["ext_id"],
            "name": keep["ext_name"].str.translate(NUMERALS),
            "short_name": keep["name"].str.translate(NUMERALS),
            "level": keep["deep"].map(LEVELS),
            "parent_code": keep["pid"].map(parents),
            "source": "NBS 2023",
            "code_synthetic": False,
        }
    )


def jionlp(shared: Path, known: pd.DataFrame) -> pd.DataFrame:
    table = pd.read_csv(shared / "chengdu_admin_hierarchy_jionlp.csv", dtype=str)
    districts = dict(
        zip(
            known.loc[known["level"] == "district", "name"],
            known.loc[known["level"] == "district", "code"],
            strict=False,
        )
    )
    districts = {name: code for name, code in districts.items() if code.startswith("5101")}
    zones = {
        name: f"{code}000000"
        for name, code in table[["district", "district_code"]]
        .drop_duplicates()
        .itertuples(index=False)
        if name in ZONES
    }
    rows = [
        {
            "code": code,
            "name": name,
            "short_name": name,
            "level": "district",
            "parent_code": CHENGDU,
            "source": "jionlp",
            "code_synthetic": True,
        }
        for name, code in zones.items()
    ]
    districts.update(zones)
    official_towns = known[(known["level"] == "town") & known["code"].str.startswith("5101")]
    town_codes = {
        (p, n): c
        for p, n, c in zip(
            official_towns["parent_code"],
            official_towns["name"],
            official_towns["code"],
            strict=True,
        )
    }
    town_by_name = official_towns.groupby("name")["code"].agg(list).to_dict()
    old_count: dict[str, int] = {}
    for (district, town), group in table.dropna(subset=["town_or_street"]).groupby(
        ["district", "town_or_street"], sort=True
    ):
        district_code = districts[district]
        code = town_codes.get((district_code, town))
        if code is None and len(town_by_name.get(town, [])) == 1:
            code = town_by_name[town][0]
        if code is None:
            old_count[district_code] = old_count.get(district_code, 0) + 1
            code = f"{district_code[:6]}8{old_count[district_code]:02d}000"
            rows.append(
                {
                    "code": code,
                    "name": town,
                    "short_name": town,
                    "level": "town",
                    "parent_code": district_code,
                    "source": "jionlp (pre-2020 town)",
                    "code_synthetic": True,
                }
            )
        for i, community in enumerate(
            sorted(group["village_or_community"].dropna().unique()), start=1
        ):
            rows.append(
                {
                    "code": f"{code[:9]}{i:03d}",
                    "name": community,
                    "short_name": community,
                    "level": "community",
                    "parent_code": code,
                    "source": "jionlp",
                    "code_synthetic": True,
                }
            )
    return pd.DataFrame(rows)


def build(shared: Path, out: Path) -> pd.DataFrame:
    known = official(shared)
    table = pd.concat([known, jionlp(shared, known)], ignore_index=True)
    table = table.drop_duplicates("code").sort_values("code", ignore_index=True)
    out.mkdir(parents=True, exist_ok=True)
    table.to_csv(out / "divisions.csv", index=False)
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--shared", type=Path, default=HERE.parent.parent / "shared" / "data" / "chengdu_admin"
    )
    parser.add_argument("--out", type=Path, default=HERE / "divisions")
    table = build(**vars(parser.parse_args()))
    print(table.groupby(["level", "code_synthetic"]).size())


if __name__ == "__main__":
    main()
