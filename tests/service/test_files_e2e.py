"""Files of every kind arriving at a real server on 127.0.0.1, by each of the three ways in.

One server for the module, on the five seed transcriptions, watching an inbox folder. Six small
notices are built here as the files staff hold (a PDF with a Chinese text layer, an image-only PDF, a
phone photo, an OFD file, a Word file, a web page with its portal's navigation around the article) and each arrives
three times: by POST /v1/documents, through the watched inbox, and by `concord add` run beside the
server. The copies differ only in the officer named at the foot, so every later copy joins the first
as another variant of the same notice, and a question about it must find the right clause with the
page and line rectangles (or the paragraph or DOM path) of each copy.

Then a scan of a seed transcription (every page an image, read by OCR) is uploaded: it must join the
seed notice as its sixth variant, so the 5所 clause reads 6/6 with the OCR reading among its witnesses.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.files import flowing, paged
from tests.helpers import MODELS, ROOT, SEEDS
from tests.servers import Server, _send, concord_env, post_json, request, running_server, upload, wait_for_job

ROUTES = ("upload", "inbox", "cli")
FORMATS = {
    "pdf": "pdf",
    "jpg": "image",
    "ofd": "ofd",
    "docx": "docx",
    "html": "html",
}  # suffix -> the format read
OFFICERS = {"upload": "王明", "inbox": "李强", "cli": "赵磊"}


@dataclass(frozen=True)
class Notice:
    """One fixture notice: how to build its file for a route, a question it answers and where."""

    name: str  # the file name; its suffix is the format
    build: Callable[[str], bytes]  # officer -> file bytes
    question: str
    answer: str  # a phrase of the answering clause
    page: int | None  # the page it is on, for a paged file
    top: tuple[float, float] | None = (
        None  # where the answer's line starts down the page (a share of its height)
    )
    block: str | None = None  # for a flowing file: how the block it lies in is named (its end)


def _signed(officer: str) -> str:
    return f"经办人：{officer}"


BIKES = [
    [
        "关于扩大城市公共自行车服务的通知",
        "各区人民政府，市直有关单位：",
        "为方便市民短途出行，决定扩大公共自行车服务。",
    ],
    [
        "全市新增公共自行车站点三百个。",
        "每次骑行首个小时免费，超出后每小时收一元。",
        "办理租车卡须缴纳押金二百元。",
    ],
]
WATER = [
    "关于加强农村饮水安全工作的通知",
    "各乡镇人民政府：",
    "今年全县新建集中供水工程十二处，",
    "农村自来水普及率达到百分之九十五。",
]
LIBRARY = ["市图书馆调整开放时间的公告", "自十月一日起周一闭馆，", "周二至周日九时至二十一时开放。"]
MEALS = [
    "关于开展老年人助餐服务的通知",
    "各街道办事处：",
    "全区每个社区设立一个老年助餐点。",
    "八十岁以上老人每餐补贴五元。",
]
WASTE = [
    "关于推行生活垃圾分类的通知",
    "各街道办事处：",
    "居民小区每栋楼设置四类垃圾桶。",
    "厨余垃圾每日定时收运两次。",
]
PARKING = ["各区人民政府：", "中心城区路内停车首小时收费三元。", "夜间二十时至次日八时免费停放。"]

NOTICES = [
    Notice(
        "bikes.pdf",
        lambda officer: paged.text_pdf([BIKES[0], [*BIKES[1], _signed(officer)]]),
        "公共自行车每次骑行多长时间免费？",
        "首个小时免费",
        page=2,
        # the second line of page 2: its cell starts BODY_TOP_MM + LINE_MM down the A5 page
        top=(
            (paged.BODY_TOP_MM + paged.LINE_MM) / paged.PAGE_MM[1] - 0.02,
            (paged.BODY_TOP_MM + 2 * paged.LINE_MM) / paged.PAGE_MM[1],
        ),
    ),
    Notice(
        "water-scan.pdf",
        lambda officer: paged.image_pdf([[*WATER, _signed(officer)]]),
        "农村自来水普及率要达到多少？",
        "百分之九十五",
        page=1,
        # page_image draws line i at 15% of the height plus i line pitches (26 px * 1.9 of 880 px)
        top=(0.15 + 3 * 26 * 1.9 / 880 - 0.02, 0.15 + 4 * 26 * 1.9 / 880),
    ),
    Notice(
        "library-photo.jpg",
        lambda officer: paged.photo([*LIBRARY, _signed(officer)]),
        "市图书馆周一开门吗？",
        "闭馆",
        page=1,
    ),
    Notice(
        "waste.ofd",
        lambda officer: flowing.ofd_file([flowing.ofd_lines([*WASTE, _signed(officer)])], title=WASTE[0]),
        "厨余垃圾每天收运几次？",
        "收运两次",
        page=1,
        # ofd_lines sets line i's baseline 37 + i * 1.6 font sizes (5.6 mm) down the A4 page
        top=((37 + 3 * 5.6 * 1.6 - 5.6) / 297 - 0.02, (37 + 3 * 5.6 * 1.6 - 5.6) / 297 + 0.02),
    ),
    Notice(
        "meals.docx",
        lambda officer: flowing.docx_file([*MEALS, _signed(officer)]),
        "八十岁以上老人每餐补贴多少钱？",
        "补贴五元",
        page=None,
        block="paragraph 4",
    ),
    Notice(
        "parking.html",
        lambda officer: flowing.html_page([*PARKING, _signed(officer)], title="关于规范城市停车收费的通知"),
        "夜间几点到几点可以免费停放？",
        "免费停放",
        page=None,
        block="/div/p[3]",  # the third paragraph of the article, inside the portal's page
    ),
]


@dataclass
class FilesServer:
    server: Server
    settings: dict[str, str]
    inbox: Path
    variants: dict[tuple[str, str], tuple[str, str]]  # (route, file name) -> (document, variant)

    @property
    def base(self) -> str:
        return self.server.base

    def ask(self, question: str) -> dict:
        status, body = post_json(self.base + "/v1/query", {"question": question, "top_k": 3})
        assert status == 200, body
        return body


@pytest.fixture(scope="module")
def files_server(
    tmp_path_factory: pytest.TempPathFactory, shared_cache: Path, built_index
) -> Iterator[FilesServer]:
    root = tmp_path_factory.mktemp("files-e2e")
    inbox = root / "inbox"
    inbox.mkdir()
    settings = {
        "CONCORD_VAR_DIR": str(root / "var"),
        "CONCORD_MODELS_DIR": str(MODELS),
        "CONCORD_CACHE_DIR": str(shared_cache),
        "CONCORD_SEEDS_DIR": str(SEEDS),
        "CONCORD_WATCH_DIR": str(inbox),
        "CONCORD_WATCH_INTERVAL": "0.3",
        "CONCORD_RELOAD_INTERVAL": "0.5",
        "CONCORD_JOB_POLL_INTERVAL": "0.3",
    }
    with running_server(settings, root / "server.log") as server:
        yield FilesServer(server, settings, inbox, {})


def _stored(job: dict) -> dict[str, tuple[str, str]]:
    assert job["status"] == "succeeded", job
    return {item["file"]: (item["document"], item["variant"]) for item in job["result"]["files"]}


def _arrive_by_upload(
    env: FilesServer, files: list[tuple[str, bytes]], workdir: Path
) -> dict[str, tuple[str, str]]:
    status, job = upload(env.base + "/v1/documents", files)
    assert status == 202, job
    return _stored(wait_for_job(env.base, job["id"]))


def _arrive_by_inbox(
    env: FilesServer, files: list[tuple[str, bytes]], workdir: Path
) -> dict[str, tuple[str, str]]:
    for name, data in files:  # written beside, then moved in whole, as a scanner's share does
        staged = workdir / name
        staged.write_bytes(data)
        shutil.move(staged, env.inbox / name)
    deadline = time.monotonic() + 600
    done = env.inbox / "done"
    while time.monotonic() < deadline and len(list(done.glob("*"))) < len(files):
        assert not [p for p in (env.inbox / "failed").glob("*") if p.name in dict(files)], (
            env.server.output()[-3000:]
        )
        time.sleep(0.5)
    assert sorted(p.name for p in done.iterdir()) == sorted(name for name, _ in files)
    status, jobs = request(env.base + "/v1/jobs?limit=50")
    assert status == 200, jobs
    stored: dict[str, tuple[str, str]] = {}
    for job in jobs["jobs"]:
        if job["origin"].startswith("inbox:") and job["status"] == "succeeded":
            stored |= _stored(job)
    assert set(stored) >= {name for name, _ in files}, jobs
    # the last inbox job's index must be published before questions are asked
    _wait_until_searchable(env)
    return stored


def _arrive_by_cli(
    env: FilesServer, files: list[tuple[str, bytes]], workdir: Path
) -> dict[str, tuple[str, str]]:
    paths = []
    for name, data in files:
        (workdir / name).write_bytes(data)
        paths.append(str(workdir / name))
    # the test's own server runs jobs too and may take this one first: the command waits for it
    # and reports what was stored whichever process ran it
    added = subprocess.run(
        [sys.executable, "-m", "service.cli", "add", *paths],
        cwd=ROOT,
        env=concord_env(env.settings),
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert added.returncode == 0, added.stderr
    stored = {}
    for line in added.stdout.splitlines():
        if ": stored as " in line:
            name, rest = line.split(": stored as ", 1)
            document, variant = rest.split(" ", 1)[0].split("/", 1)
            stored[name] = (document, variant)
    assert set(stored) == {name for name, _ in files}, added.stdout
    _wait_until_searchable(env)
    return stored


def _wait_until_searchable(env: FilesServer) -> None:
    """Until the server answers from the newest generation the corpus has published."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        _status, jobs = request(env.base + "/v1/jobs?limit=50")
        listed = jobs["jobs"]
        if all(job["status"] in ("succeeded", "failed") for job in listed):
            newest = max(
                (
                    job["result"].get("generation", 0)
                    for job in listed
                    if job["status"] == "succeeded" and job.get("result")
                ),
                default=0,
            )
            if request(env.base + "/readyz")[1]["index"]["generation"] >= newest:
                return
        time.sleep(0.3)
    raise AssertionError("the server never answered from the newest index")


ARRIVALS = {"upload": _arrive_by_upload, "inbox": _arrive_by_inbox, "cli": _arrive_by_cli}


@pytest.mark.parametrize("route", ROUTES)
def test_each_kind_of_file_arrives_and_answers_with_its_page_and_place(
    route: str, files_server: FilesServer, tmp_path: Path
) -> None:
    files = [(notice.name, notice.build(OFFICERS[route])) for notice in NOTICES]
    stored = ARRIVALS[route](files_server, files, tmp_path)
    for notice in NOTICES:
        files_server.variants[(route, notice.name)] = stored[notice.name]
    arrived = [r for r in ROUTES if (r, NOTICES[0].name) in files_server.variants]
    for notice in NOTICES:
        documents = {files_server.variants[(r, notice.name)][0] for r in arrived}
        assert len(documents) == 1, (notice.name, documents)  # every copy joined the first
        body = files_server.ask(notice.question)
        top = body["results"][0]
        assert top["document"]["id"] in documents, (notice.question, top)
        assert notice.answer in top["text"] or notice.name.endswith(".jpg"), (notice.question, top["text"])
        own = files_server.variants[(route, notice.name)][1]
        reading = next((r for r in top["readings"] if r["variant"] == own), None)
        assert reading is not None, (route, notice.name, top["readings"])
        assert reading["source"]["original_name"] == notice.name
        assert reading["source"]["format"] == FORMATS[notice.name.rsplit(".", 1)[1]]
        assert reading["file"].endswith(".txt")  # offsets index the extracted text, kept as UTF-8
        variant_url = f"{files_server.base}/v1/documents/{top['document']['id']}/variants/{own}"
        status, _headers, original = _send(f"{variant_url}/original", None, {}, None)
        assert status == 200 and original == dict(files)[notice.name]  # the file as it arrived
        if notice.page is None:
            assert reading["pages"] == [] and reading["blocks"], reading
            assert reading["blocks"][0].endswith(notice.block), reading["blocks"]
            continue
        assert [span["page"] for span in reading["pages"]] == [notice.page], reading["pages"]
        rects = reading["pages"][0]["rects"]
        assert rects and all(0 <= x0 < x1 <= 1 and 0 <= y0 < y1 <= 1 for x0, y0, x1, y1 in rects), rects
        if notice.top is not None:
            low, high = notice.top
            assert any(low <= y0 <= high for _x0, y0, _x1, _y1 in rects), (notice.name, rects)
        ocr = notice.name.endswith((".jpg", "-scan.pdf"))
        assert reading["source"]["ocr"] is ocr and (reading["pages"][0]["confidence"] is not None) is ocr
        assert (own in top["support"]["ocr"]) is ocr
        variant_url = f"{files_server.base}/v1/documents/{top['document']['id']}/variants/{own}"
        status, _headers, png = _send(f"{variant_url}/pages/{notice.page}.png?width=400", None, {}, None)
        if reading["source"]["format"] == "ofd":  # located to the line, but its pages are not drawn
            assert reading["source"]["page_images"] is False
            assert status == 404 and b"no page images" in png
        else:
            assert reading["source"]["page_images"] is True
            assert status == 200 and png.startswith(b"\x89PNG")
    # every copy is a witness of the clause: the answers read n/n over the routes so far
    bikes = files_server.ask(NOTICES[0].question)["results"][0]
    assert bikes["support"]["count"] == bikes["support"]["total"] == len(arrived)


RENT = [
    "关于规范公共租赁住房管理的通知",
    "各区住房保障部门：",
    "申请家庭人均月收入应低于三千元。",
    "租金按市场租金的百分之六十收取。",
    "租赁合同期限最长不超过五年。",
]


def test_a_searchable_scan_read_twice_gives_two_witnesses_that_agree_and_disagree(
    files_server: FilesServer,
) -> None:
    """A scan under another engine's OCR layer, with one slip in the layer, uploaded with ocr=both:
    the text layer and this service's OCR become two variants of one document; the clauses they both
    read alike are 2/2, and the slipped one shows where they differ."""
    layer = [line.replace("百分之六十", "百分之八十") for line in RENT]
    status, job = upload(
        files_server.base + "/v1/documents", [("rent.pdf", paged.searchable_scan(RENT, layer))], ocr="both"
    )
    assert status == 202, job
    done = wait_for_job(files_server.base, job["id"])
    stored = {item["variant"]: item for item in done["result"]["files"]}
    assert set(stored) == {"rent", "rent-ocr"}, done
    assert stored["rent"]["document"] == stored["rent-ocr"]["document"]
    assert (
        stored["rent"]["extraction"]["method"] == "text-layer"
        and stored["rent-ocr"]["extraction"]["method"] == "ocr"
    )
    _wait_until_searchable(files_server)

    agreed = files_server.ask("公共租赁住房的租赁合同期限最长不超过几年？")["results"][0]
    assert "五年" in agreed["text"] and agreed["divergences"] == []
    assert agreed["support"]["count"] == agreed["support"]["total"] == 2
    assert agreed["support"]["ocr"] == ["rent-ocr"]
    tops = {r["variant"]: r["pages"][0]["rects"][0][1] for r in agreed["readings"]}
    assert abs(tops["rent"] - tops["rent-ocr"]) < 0.02  # both witnesses place the line alike

    disputed = files_server.ask("公共租赁住房租金按市场租金的百分之多少收取？")["results"][0]
    assert {r["variant"] for r in disputed["readings"]} == {"rent", "rent-ocr"}
    (divergence,) = [d for d in disputed["divergences"] if d["substantive"]]
    assert {divergence["canonical_text"], divergence["reading_text"]} == {"六", "八"}, divergence


def test_a_scan_of_a_seed_transcription_joins_the_seed_notice_as_its_sixth_variant(
    files_server: FilesServer,
) -> None:
    text = (SEEDS / "003_2898a6ebbb562591.txt").read_text(encoding="utf-8")
    status, job = upload(files_server.base + "/v1/documents", [("003-scan.pdf", paged.scanned_text(text))])
    assert status == 202, job
    done = wait_for_job(files_server.base, job["id"], timeout=600)
    assert done["status"] == "succeeded", done
    stored = done["result"]["files"][0]
    assert stored["document"] == "seeds" and stored["assignment"]["decision"] == "matched", stored
    assert stored["extraction"]["method"] == "ocr" and stored["extraction"]["pages"] > 1
    _wait_until_searchable(files_server)
    top = files_server.ask("楚怡优秀技工院校要遴选建设多少所？")["results"][0]
    assert "5所" in top["text"].replace(" ", "")
    assert top["support"]["count"] == top["support"]["total"] == 6, top["support"]
    assert top["support"]["ocr"] == [stored["variant"]]
    scan = next(r for r in top["readings"] if r["variant"] == stored["variant"])
    assert "5所" in scan["raw_text"].replace(" ", "")
    assert scan["source"] | {"confidence": None} == {
        "original_name": "003-scan.pdf",
        "format": "pdf",
        "method": "ocr",
        "ocr": True,
        "confidence": None,
        "low_confidence": False,
        "page_images": True,
    }
    (span,) = scan["pages"]
    assert span["page"] >= 1 and span["confidence"] > 0.85 and span["rects"]
