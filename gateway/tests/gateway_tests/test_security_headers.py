from __future__ import annotations

from gateway_tests.support import Gateway, get_token


async def test_every_answer_carries_the_security_headers(gateway: Gateway) -> None:
    token = await get_token(gateway.client)
    answers = [
        await gateway.client.get("/.well-known/jwks.json"),
        await gateway.client.get(
            "/api/v1/declarations", headers={"Authorization": f"Bearer {token}"}
        ),
        await gateway.client.get("/api/v1/declarations"),  # a 401 problem
    ]
    for response in answers:
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["referrer-policy"] == "no-referrer"
        assert "strict-transport-security" not in response.headers  # local, plain HTTP
    assert answers[2].status_code == 401


async def test_cors_is_off(gateway: Gateway) -> None:
    preflight = await gateway.client.options(
        "/api/v1/declarations",
        headers={
            "Origin": "https://elsewhere.example",
            "Access-Control-Request-Method": "POST",
        },
    )
    assert "access-control-allow-origin" not in preflight.headers
