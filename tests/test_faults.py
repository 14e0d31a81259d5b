"""Faults: an unreachable database answers 503 in Chinese with a request id, and nothing is half-written."""

from __future__ import annotations

import contextlib

import pytest

from registry import create_app


@pytest.fixture()
def dead_database_app(tmp_path):
    """An app whose database cannot be reached: PostgreSQL on a closed port."""
    return create_app({
        "TESTING": False,
        "SECRET_KEY": "x",
        "SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://postgres@127.0.0.1:1/none?connect_timeout=1",
        "WTF_CSRF_ENABLED": False,
    })


def test_a_page_answers_503_with_a_chinese_message_and_a_request_id(dead_database_app):
    client = dead_database_app.test_client()
    response = client.post("/login", data={"username": "a", "password": "b"})
    assert response.status_code == 503
    assert "数据库暂时无法连接" in response.text and "您的操作没有保存" in response.text
    request_id = response.headers["X-Request-ID"]
    assert request_id and request_id in response.text
    assert response.headers["Retry-After"] == "30"


def test_the_api_answers_503_as_json(dead_database_app):
    client = dead_database_app.test_client()
    response = client.get("/api/v1/compliance", headers={"Authorization": "Bearer x", "X-Request-ID": "abc-123"})
    assert response.status_code == 503
    assert response.get_json()["request_id"] == "abc-123"


def test_an_unreadable_sqlite_file_answers_503(tmp_path):
    folder = tmp_path / "not-a-file.sqlite3"
    folder.mkdir()  # a directory where the database file should be
    app = create_app({"SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder}", "WTF_CSRF_ENABLED": False})
    response = app.test_client().post("/login", data={"username": "a", "password": "b"})
    assert response.status_code == 503


def test_other_errors_carry_the_request_id(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert response.headers["X-Request-ID"] in response.text


class Proxy:
    """A TCP proxy on 127.0.0.1 to PostgreSQL that the test can cut and restore."""

    def __init__(self, target=("127.0.0.1", 5432)):
        import socket
        import threading

        self.target = target
        self.server = socket.socket()
        self.server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.server.bind(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.server.listen(16)
        self.open = True
        self.connections = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        import socket
        import threading

        while True:
            try:
                client, _addr = self.server.accept()
            except OSError:
                return
            if not self.open:
                client.close()
                continue
            upstream = socket.create_connection(self.target)
            with self.lock:
                self.connections += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source, sink):
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                with contextlib.suppress(OSError):
                    end.close()

    def cut(self):
        """Refuse new connections and drop the open ones, as a stopped server would."""
        import socket

        self.open = False
        with self.lock:
            for connection in self.connections:
                with contextlib.suppress(OSError):
                    connection.shutdown(socket.SHUT_RDWR)
                    connection.close()
            self.connections = []

    def restore(self):
        self.open = True

    def close(self):
        self.cut()
        self.server.close()


def _postgres_reachable() -> bool:
    import socket

    try:
        socket.create_connection(("127.0.0.1", 5432), timeout=1).close()
        return True
    except OSError:
        return False


@pytest.mark.skipif(not _postgres_reachable(), reason="needs PostgreSQL on 127.0.0.1:5432")
def test_the_app_recovers_by_itself_when_postgresql_returns():
    proxy = Proxy()
    try:
        url = f"postgresql+psycopg://postgres@127.0.0.1:{proxy.port}/test?connect_timeout=2"
        app = create_app({"SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": url, "WTF_CSRF_ENABLED": False})
        client = app.test_client()
        assert client.get("/healthz").status_code == 200  # the database answers
        proxy.cut()
        assert client.get("/healthz").status_code == 503
        proxy.restore()
        assert client.get("/healthz").get_json() == {"status": "ok", "database": "ok"}  # pool_pre_ping reconnected
        with app.app_context():
            from registry.extensions import db

            db.engine.dispose()
    finally:
        proxy.close()


def test_huge_ids_and_nul_characters_are_refused_not_crashed(client, health):
    assert client.get("/institutions/99999999999999999999").status_code == 404
    assert client.get("/agreements/99999999999999999999").status_code == 404
    assert client.get("/homes?q=%00").status_code == 400
    assert client.post("/training/new", data={"organiser": "a\x00b"}).status_code == 400


def test_a_wrong_method_on_the_api_answers_json(client, health):
    response = client.post("/api/v1/compliance")
    assert response.status_code == 405
    assert "error" in response.get_json()
