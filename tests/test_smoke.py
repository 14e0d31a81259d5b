"""The login page answers in Chinese."""


def test_login_page_is_chinese(client):
    response = client.get("/login")
    assert response.status_code == 200
    assert "登录" in response.text
    assert 'lang="zh-CN"' in response.text
