"""Names sort and search the way staff type them: pinyin, initials, two characters, codes."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text

from registry.extensions import db
from registry.models import Institution, InstitutionSearchKey
from registry.services import name_search, pinyin
from tests.conftest import code_of, table_rows
from tests.factories import DIANBAI, GAOZHOU
from tests.test_imports import HEADER, csv_bytes, run_import

# --- the readings (no database) ---------------------------------------------------------------


@pytest.mark.parametrize(("name", "key"), [
    ("长坡镇卫生院", "chang po zhen wei sheng yuan"),  # the town reads cháng (pypinyin alone says zhǎng)
    ("茂名市长岐镇敬老院", "mao ming shi chang qi zhen jing lao yuan"),
    ("长者服务中心", "zhang zhe fu wu zhong xin"),  # 长者 is zhǎng
    ("高州长寿养护院", "gao zhou chang shou yang hu yuan"),
    ("中国银行", "zhong guo yin hang"),
    ("长乐长者之家", "chang le zhang zhe zhi jia"),  # one character, two readings in one name
    ("绿叶颐养院", "lv ye yi yang yuan"),
])
def test_a_name_reads_in_its_own_pinyin(name, key):
    assert pinyin.sort_key(name) == key


def test_latin_letters_and_digits_stay_words_and_symbols_separate():
    reading = pinyin.read("茂名市ABC养老院（3号楼）No.12")
    assert reading.sort_key == "mao ming shi abc yang lao yuan 3 hao lou no 12"
    assert "".join(reading.initials) == "mmsabcyly3hlno12"


def test_a_heteronym_keeps_its_other_reading_for_search():
    reading = pinyin.read("长坡镇卫生院")
    assert reading.others[0] == "zhang" and reading.syllables[0] == "chang"
    assert pinyin.read("茂名市人民医院").others is None


def test_typed_pinyin_is_split_into_syllables_the_last_one_begun():
    assert name_search.segmentations("maomingshi")[0] == ("mao", "ming", "shi")
    assert ("xian",) in name_search.segmentations("xian") and ("xi", "an") in name_search.segmentations("xian")
    assert name_search.segmentations("renm")[0] == ("ren", "m")
    assert name_search.segmentations("mmsrmyy") == []  # no syllable is "m": initials only


def test_pinyin_sorts_where_code_points_do_not():
    names = ["张家养老院", "长坡镇敬老院", "安康养老院", "百福养老院"]
    assert sorted(names) == ["安康养老院", "张家养老院", "百福养老院", "长坡镇敬老院"]  # code points
    assert sorted(names, key=pinyin.sort_key) == ["安康养老院", "百福养老院", "长坡镇敬老院", "张家养老院"]


# --- in the lists and pickers, on the database -----------------------------------------------


@pytest.fixture()
def register(make):
    """A few institutions whose names search and sort differently in pinyin."""
    return {
        "hospital": make.medical(name="茂名市人民医院", uscc="12440900456123456M"),
        "dianbai": make.home(DIANBAI, name="电白区社会福利中心", address="茂名市电白区水东镇"),
        "changpo": make.home(GAOZHOU, name="长坡镇敬老院"),
        "zhang": make.home(name="张家养老院"),
        "an": make.home(name="安康养老院", address="茂南区站前路"),
        "bai": make.home(name="百福养老院"),
    }


def names_found(client, url: str) -> list[str]:
    return [row[1] for row in table_rows(client.get(url).text) if len(row) > 1]


def found(client, q: str, kind: str = "homes") -> str:
    return client.get(f"/{kind}", query_string={"q": q}).text


@pytest.mark.parametrize(("q", "expected"), [
    ("电白", "电白区社会福利中心"),  # two characters
    ("dianbai", "电白区社会福利中心"),  # full pinyin
    ("shfl", "电白区社会福利中心"),  # initials from the middle of the name
    ("changpo", "长坡镇敬老院"),
    ("zhangpo", "长坡镇敬老院"),  # the other reading of 长
    ("cpzjly", "长坡镇敬老院"),
    ("changp", "长坡镇敬老院"),  # a syllable begun
    ("ankang", "安康养老院"),
    ("站前", "安康养老院"),  # the address
    ("养老院 bf", "百福养老院"),  # every word must be found
])
def test_a_home_is_found_as_staff_type_it(client, admin, register, q, expected):
    page = found(client, q)
    assert expected in page
    others = {"电白区社会福利中心", "长坡镇敬老院", "张家养老院", "安康养老院", "百福养老院"} - {expected}
    if q != "changp":
        assert not [n for n in others if n in page], q


def test_initials_code_and_credit_code_find_the_hospital(app, client, admin, register):
    for q in ("mmsrmyy", "rmyy", "renminyiyuan", "12440900456", code_of(app, register["hospital"])):
        assert "茂名市人民医院" in found(client, q, "medical"), q
    assert "茂名市人民医院" not in found(client, "mmsrmyyy", "medical")


def test_lists_sort_by_pinyin_both_ways(client, admin, register):
    assert names_found(client, "/homes") == [
        "安康养老院", "百福养老院", "长坡镇敬老院", "电白区社会福利中心", "张家养老院"]
    assert names_found(client, "/homes?sort=name&descending=1")[0] == "张家养老院"


def test_the_party_picker_finds_by_initials(client, admin, register):
    rows = client.get("/institutions/search.json", query_string={"q": "mmsrmyy", "kind": "medical"}).json
    assert [r["name"] for r in rows] == ["茂名市人民医院"]
    rows = client.get("/institutions/search.json", query_string={"q": "养老", "kind": "eldercare"}).json
    assert [r["name"] for r in rows] == ["安康养老院", "百福养老院", "张家养老院"]


def test_the_agreement_list_finds_a_party_by_pinyin(client, admin, make, register):
    make.agreement(register["changpo"], register["hospital"])
    assert "长坡镇敬老院" in client.get("/agreements", query_string={"q": "zhangpo"}).text
    assert "长坡镇敬老院" not in client.get("/agreements", query_string={"q": "dianbai"}).text


def test_keys_follow_an_edit_and_a_deletion(app, make):
    home = make.home(name="福寿老人公寓")
    with app.app_context():
        record = db.session.get(Institution, home)
        record.name = "长青颐养院"
        db.session.commit()
        assert db.session.scalar(select(InstitutionSearchKey.sort_key).where(
            InstitutionSearchKey.institution_id == home)) == "chang qing yi yang yuan"
        ids = lambda q: set(db.session.scalars(name_search.matching_ids(q)))  # noqa: E731
        assert ids("changqing") == {home} and ids("fushou") == set()
        db.session.delete(record)
        db.session.commit()
        assert ids("changqing") == set()
        assert db.session.scalar(select(InstitutionSearchKey).where(
            InstitutionSearchKey.institution_id == home)) is None


def test_imported_and_re_imported_institutions_are_found_by_pinyin(app, client, admin):
    header = HEADER
    created = run_import(app, {"homes.csv": csv_bytes(header + ",养老机构,长岐镇中心敬老院,化州市,2019-05-01,60,,,,\n")})
    assert created.ok, [str(e) for e in created.errors]
    assert "长岐镇中心敬老院" in found(client, "cqzzxjly")
    with app.app_context():
        code = db.session.scalar(select(Institution.code).where(Institution.name == "长岐镇中心敬老院"))
    renamed = run_import(app, {"homes.csv": csv_bytes(header + f"{code},养老机构,长岐镇福利院,化州市,2019-05-01,60,,,,\n")})
    assert renamed.ok and renamed.counts()["institutions"]["update"] == 1
    assert "长岐镇福利院" in found(client, "changqizhenfuli")
    assert "长岐镇福利院" not in found(client, "cqzzxjly")


def test_a_two_character_term_uses_the_full_text_index(app, register):
    with app.app_context():
        query = name_search.matching_ids("电白")  # what the lists' condition asks of the keys
        compiled = str(query.compile(db.engine, compile_kwargs={"literal_binds": True}))
        if db.engine.dialect.name == "sqlite":
            plan = " ".join(str(r[-1]) for r in db.session.execute(text(f"EXPLAIN QUERY PLAN {compiled}")))
            assert "VIRTUAL TABLE INDEX" in plan and "institution_search" in plan
        else:
            db.session.execute(text("SET LOCAL enable_seqscan = off"))
            plan = " ".join(r[0] for r in db.session.execute(text(f"EXPLAIN {compiled}")))
            assert "ix_institution_search_keys_document" in plan
        assert list(db.session.scalars(query)) == [register["dianbai"]]
        assert list(db.session.scalars(select(Institution.id).where(name_search.matching("电白")))) == [
            register["dianbai"]]

