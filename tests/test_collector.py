"""The cyclic garbage collector paused during an import, and always on again after it."""

from __future__ import annotations

import gc
import threading

import pytest

from registry.services import imports
from registry.services.formats import exchange
from registry.services.infra.collector import collector_paused


def test_a_plan_runs_with_the_collector_paused_and_leaves_it_on(app, monkeypatch):
    seen = []
    check = imports.planning.Planner.plan

    def plan(self, sheets):
        seen.append(gc.isenabled())
        return check(self, sheets)

    monkeypatch.setattr(imports.planning.Planner, "plan", plan)
    data = "机构类别,机构名称,所属区县,成立日期,床位数\n养老机构,回收测试养老院,茂南区,2020-01-01,50\n".encode()
    with app.app_context():
        plan = imports.plan(exchange.read_upload(data, "institutions.csv"), None)
        assert plan.ok and seen == [False] and gc.isenabled()
    assert gc.isenabled()


def test_nested_calls_and_an_error_inside_leave_the_collector_on():
    with collector_paused():
        with collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the outer call is still inside
    assert gc.isenabled()
    with pytest.raises(ValueError), collector_paused():
        raise ValueError
    assert gc.isenabled()


def test_the_last_thread_inside_turns_the_collector_on_again():
    inside, leave = threading.Event(), threading.Event()

    def long_import() -> None:
        with collector_paused():
            inside.set()
            leave.wait(5)

    worker = threading.Thread(target=long_import)
    worker.start()
    inside.wait(5)
    with collector_paused():
        pass
    assert not gc.isenabled()  # the worker's import is still running
    leave.set()
    worker.join(5)
    assert gc.isenabled()
