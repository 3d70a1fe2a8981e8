import signal
import sqlite3
import subprocess
import sys
import time

import pandas as pd
import pytest

import cim
from cim.events import EventLog, LifecycleError, classify, ingest, load_classes
from cim.response import dispatch_incidents
from cim.sample import synthetic_events

LABELLED = [  # text, sensor kind, class name, department
    ("三楼厨房着火了，浓烟很大", "", "火灾", "消防救援支队"),
    ("有老人晕倒在公交站", "", "医疗急救", "120 急救中心"),
    ("两辆车追尾堵在路口", "", "交通事故", "交警支队"),
    ("楼下有人持刀闹事", "", "治安事件", "公安分局"),
    ("下穿隧道积水没过车轮", "", "道路积水", "排水管理处"),
    ("门口流动摊贩占道经营", "", "占道经营", "城管执法中队"),
    ("小区门口垃圾堆放发臭", "", "暴露垃圾", "环卫所"),
    ("人行道井盖破损", "", "井盖及市政设施", "市政设施管理处"),
    ("电线杆上贴满小广告", "", "非法小广告", "城管执法中队"),
    ("工地半夜施工噪音", "", "施工扰民", "住建局"),
    ("想问问社保怎么办", "", "其他", "12345 热线分拨中心"),
    ("告警", "smoke", "火灾", "消防救援支队"),
    ("告警", "water_level", "道路积水", "排水管理处"),
    ("告警", "air", "环境监测超标", "生态环境局"),
]


def test_classification_by_keywords_and_sensor_kind():
    texts, kinds, names, departments = zip(*LABELLED, strict=True)
    found = classify(list(texts), list(kinds))
    assert found["class_name"].tolist() == list(names)
    assert found["department"].tolist() == list(departments)
    majors = dict(zip(found["class_name"], found["major_name"], strict=True))
    assert majors["火灾"] == "突发事件" and majors["暴露垃圾"] == "市容环境"


def test_a_bad_class_table_is_refused(tmp_path):
    path = tmp_path / "classes.yaml"
    path.write_text("classes:\n  - {code: '9', name: x, colour: red}\n", encoding="utf-8")
    with pytest.raises(ValueError, match="unknown field 'colour'"):
        load_classes(path)


@pytest.fixture(scope="session")
def mixed(city, tmp_path_factory):
    address = city.layer("addresses").query("road == '总府路'")["address"].iloc[0]
    smoke = city.layer("sensors").query("kind == 'smoke'")["id"].iloc[0]
    rows = pd.DataFrame(
        [
            ("call", "hotline", "2026-07-15 08:00", "厨房着火冒烟", address, None, None, None),
            ("walk", "patrol", "2026-07-15 08:05", "垃圾堆放", None, 104.0705, 30.6601, None),
            ("hurt", "patrol", "2026-07-15 08:06", "有人晕倒", None, 104.0621, 30.6572, None),
            ("alarm", "sensor", "2026-07-15 08:10", "烟感告警", None, None, None, smoke),
            (
                "lost",
                "hotline",
                "2026-07-15 08:12",
                "井盖破损",
                "火星市不存在路9号",
                None,
                None,
                None,
            ),
            ("ghost", "sensor", "2026-07-15 08:13", "告警", None, None, None, "no-such-sensor"),
            (None, "patrol", "2026-07-15 08:14", "x", None, 104.07, 30.66, None),
            ("walk", "patrol", "2026-07-15 08:15", "again", None, 104.07, 30.66, None),
            ("odd", "fax", "2026-07-15 08:16", "x", None, None, None, None),
            ("nowhere", "patrol", "2026-07-15 08:17", "x", None, None, None, None),
        ],
        columns=["id", "source", "reported_at", "text", "address", "lon", "lat", "sensor_id"],
    )
    log = EventLog(tmp_path_factory.mktemp("events") / "events.db")
    result = ingest(rows, city, log)
    return rows, log, result


def test_mixed_events_get_their_department_and_unit(mixed, city):
    _, log, result = mixed
    assert result.logged == 6 and result.skipped == 0
    assert result.bad_rows["reason"].tolist() == [
        "no id",
        "id repeats an earlier row",
        "source is not one of hotline, patrol, sensor",
        "patrol report without lon/lat in China",
    ]
    events = log.events().set_index("id")
    assert events.loc["call", "department"] == "消防救援支队"
    assert events.loc["walk", "department"] == "环卫所" and pd.isna(
        events.loc["walk", "resource_id"]
    )
    assert events.loc["alarm", "class_name"] == "火灾"
    assert (
        events.loc["lost", "status"] == "reported"
        and "address not found" in events.loc["lost", "note"]
    )
    assert (
        events.loc["ghost", "status"] == "reported"
        and "unknown sensor_id" in events.loc["ghost", "note"]
    )
    sent = events[events["resource_id"].notna()]
    assert set(sent.index) == {"call", "hurt", "alarm"} and (sent["status"] == "dispatched").all()
    reference = dispatch_incidents(city, log.incidents()).set_index("incident_id")
    for event_id, row in sent.iterrows():
        assert row["resource_id"] == reference.loc[event_id, "resource_id"]
        assert row["eta_s"] == pytest.approx(reference.loc[event_id, "eta_s"], rel=1e-9)
    kinds = city.layer("facilities").set_index("id")["kind"]
    assert kinds[events.loc["call", "resource_id"]] == "fire_station"
    assert kinds[events.loc["hurt", "resource_id"]] in ("hospital", "ambulance_base")


def test_a_batch_with_nothing_to_dispatch_is_logged(city, tmp_path):
    patrol = pd.DataFrame(
        {
            "id": ["p1", "p2"],
            "source": "patrol",
            "reported_at": "2026-07-15 08:00",
            "text": ["垃圾堆放", "占道经营"],
            "address": None,
            "lon": ["104.07", "104.08"],
            "lat": ["30.67", "30.66"],
            "sensor_id": None,
        }
    )
    with EventLog(tmp_path / "log.db") as log:
        result = ingest(patrol, city, log)
        events = log.events()
    assert (result.logged, result.dispatched, len(result.bad_rows)) == (2, 0, 0)
    assert events["resource_id"].isna().all() and set(events["id"]) == {"p1", "p2"}


def test_events_go_from_report_to_closed_one_step_at_a_time(mixed):
    _, log, _ = mixed
    with pytest.raises(
        LifecycleError, match="is dispatched; its next state is on_scene, not closed"
    ):
        log.advance("call", "closed", at="2026-07-15 09:00")
    with pytest.raises(LifecycleError, match="before"):
        log.advance("call", "on_scene", at="2026-07-15 07:00")
    for status, at in (("on_scene", "08:04"), ("resolved", "08:40"), ("closed", "09:00")):
        log.advance("call", status, at=f"2026-07-15 {at}")
    steps = log.transitions("call")
    assert steps["status"].tolist() == ["reported", "dispatched", "on_scene", "resolved", "closed"]
    assert steps["at"].is_monotonic_increasing
    with pytest.raises(LifecycleError, match="closed; its next state is nothing"):
        log.advance("call", "closed", at="2026-07-15 10:00")
    stats = log.stats().set_index("class_name")
    assert stats.loc["火灾", "minutes_to_scene"] == pytest.approx(4.0)
    assert stats.loc["火灾", "minutes_to_close"] == pytest.approx(60.0)


def test_events_past_their_time_limit_are_escalated_once(mixed):
    _, log, _ = mixed
    late = log.escalate("2026-07-15 08:30")  # fire: 5 min to scene, medical 12; rubbish 2 h
    assert {"hurt", "alarm"} <= set(late["id"]) and "walk" not in set(late["id"])
    assert log.escalate("2026-07-15 08:31").empty


def test_the_log_feeds_the_vital_signs(mixed, city):
    _, log, _ = mixed
    model = cim.CityModel(
        {"buildings": city.layer("buildings"), "incidents": log.incidents()}, settings=city.settings
    )
    table = model.vitals("city", indicators=["incidents_per_10k_buildings"])
    assert table["value"].iat[0] == pytest.approx(len(log.incidents()) / 800 * 1e4)


def test_killing_the_ingest_midway_loses_and_doubles_nothing(city, tmp_path, invoke):
    events = synthetic_events(city, 1000, seed=7)
    source, db = tmp_path / "events.csv", tmp_path / "events.db"
    events.to_csv(source, index=False)
    command = ["events", "ingest", str(source), "--db", str(db)]
    worker = subprocess.Popen(
        [sys.executable, "-m", "cim.cli", *command, "--batch", "50"], stdout=subprocess.DEVNULL
    )
    logged = 0
    deadline = time.monotonic() + 120
    while logged < 100 and worker.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
        if db.exists():
            with sqlite3.connect(db) as peek:
                try:
                    logged = peek.execute("SELECT COUNT(*) FROM events").fetchone()[0]
                except sqlite3.OperationalError:
                    logged = 0
    assert worker.poll() is None, "the ingest finished before it could be killed"
    worker.send_signal(signal.SIGKILL)
    worker.wait()
    with EventLog(db) as log:
        partial = log.events()
        assert 0 < len(partial) < 1000 and len(partial) % 50 == 0  # whole batches only
    finished = invoke(*command)  # the rerun needs no process of its own
    assert finished.exit_code == 0, (finished.output, finished.exception)
    assert f"{len(partial)} already in the log" in " ".join(finished.stdout.split())
    with EventLog(db) as log:
        final, steps = log.events(), log.transitions()
    assert sorted(final["id"]) == sorted(events["id"])
    assert not steps.duplicated(["event_id", "status"]).any()
    assert set(steps.loc[steps["status"] == "reported", "event_id"]) == set(final["id"])
