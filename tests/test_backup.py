"""Backup and restore: a restored backup holds every row of every table as it was."""

from __future__ import annotations

from sqlalchemy import select, text

from registry.extensions import db
from registry.models import Agreement, Institution


def table_contents(app) -> dict[str, list]:
    with app.app_context():
        contents = {}
        for table in db.metadata.sorted_tables:
            rows = db.session.execute(select(table).order_by(*table.primary_key.columns)).all()
            contents[table.name] = [tuple(row) for row in rows]
        db.session.remove()
        return contents


def test_backup_then_restore_gives_back_every_table(app, runner, make, tmp_path):
    home = make.home(name="备份前的名字")
    make.agreement(home, make.medical())
    make.training()
    before = table_contents(app)
    target = tmp_path / "registry.backup"
    result = runner.invoke(args=["registry", "backup", str(target)])
    assert result.exit_code == 0, result.output
    assert target.stat().st_size > 0

    with app.app_context():
        db.session.execute(Agreement.__table__.delete())
        db.session.execute(Institution.__table__.update().values(name="备份后改的名字"))
        db.session.commit()
    assert table_contents(app) != before

    refused = runner.invoke(args=["registry", "restore", str(target)], input="n\n")
    assert refused.exit_code != 0
    result = runner.invoke(args=["registry", "restore", str(target), "--yes"])
    assert result.exit_code == 0, result.output
    assert table_contents(app) == before
    with app.app_context():
        db.session.execute(text("SELECT 1"))


def test_restoring_a_missing_file_fails_cleanly(runner, tmp_path):
    result = runner.invoke(args=["registry", "restore", str(tmp_path / "nope"), "--yes"])
    assert result.exit_code != 0
