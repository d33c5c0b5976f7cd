"""Request hashing (seed 003, "Request Hashing") and panel result codes."""

from __future__ import annotations

import hashlib

import orjson
import pytest

from loadtest.core.panel import Signer, build_callback, panel_result, result_code, strip_param

SEED_URL = "https://surveys.theoremreach.com/api/endpoint?param_one=value_one"
SEED_SECRET = "UbsXaKTGWNd3wD8y5ZeV"


def test_the_seeds_get_example_comes_out_right() -> None:
    assert Signer(SEED_SECRET).digest(SEED_URL) == "11409fe7199b4c3856873e9b0553fd8e1920d1fba1cf59c5517ba2e4ee3b87fd"


def test_the_seed_then_prints_a_different_enc_in_its_url_and_the_algorithm_wins() -> None:
    # The page's "And Gets Added To The URL" shows enc=85598cc6..., which is not the hash it just
    # computed (11409fe7...). We follow the algorithm the page describes, not that printed value.
    printed = "85598cc6d64d6d2490d088b070f955258d97840506731129958ed70a29db396e"
    signed, _ = Signer(SEED_SECRET).sign(SEED_URL)
    assert signed == SEED_URL + "&enc=11409fe7199b4c3856873e9b0553fd8e1920d1fba1cf59c5517ba2e4ee3b87fd"
    assert printed not in signed


def test_the_seeds_post_example_hashes_url_then_body_then_secret() -> None:
    # The page prints the body with typographic quotes; hashed exactly as printed it gives the
    # page's value, which shows the order: URL + raw body + secret.
    body = "{“key”:“value”}".encode()
    assert Signer(SEED_SECRET).digest("https://surveys.theoremreach.com/api/endpoint", body) == (
        "58f191965859fc34fc2c96bba2fe8d633e74a9fea87ff4d362a202a68f4f26e8")


@pytest.mark.parametrize("algorithm", ["sha3_256", "sha256", "sha1"])
def test_each_algorithm_hashes_url_body_secret(algorithm: str) -> None:
    url, body = "http://127.0.0.1:1/respondent_result/callbacks/", b'{"transaction_id":"t","result":10}'
    expected = hashlib.new(algorithm.replace("_", "-") if algorithm == "sha3_256" else algorithm,
                           url.encode() + body + b"s3cret").hexdigest()
    signer = Signer("s3cret", algorithm=algorithm)  # type: ignore[arg-type]
    assert signer.digest(url, body) == expected
    signed, _ = signer.sign(url, body)
    assert signer.verify(signed, body)
    assert not signer.verify(signed, body + b" ")  # body tampered
    assert not signer.verify(signed.replace("callbacks", "callback"), body)  # URL tampered
    assert not Signer("other", algorithm=algorithm).verify(signed, body)  # wrong secret  # type: ignore[arg-type]


def test_signing_is_configurable_for_other_panels() -> None:
    s = Signer("k", algorithm="sha256", encoding="base64url", parts=("secret", "url"), param="sig",
               placement="header")
    url, headers = s.sign("https://panel.test/cb?x=1")
    assert url == "https://panel.test/cb?x=1" and set(headers) == {"sig"}
    assert "=" not in headers["sig"] and len(headers["sig"]) == 43
    assert s.verify(url, headers={"sig": headers["sig"]})
    with pytest.raises(ValueError, match="algorithm"):
        Signer("k", algorithm="md5")  # type: ignore[arg-type]


def test_strip_param_removes_only_enc() -> None:
    assert strip_param("https://h/p?a=1&enc=zz&b=2", "enc") == "https://h/p?a=1&b=2"


@pytest.mark.parametrize(("outcome", "details", "code"), [
    ("survey_complete", {}, 10),
    ("quota_full", {"quotaId": "x"}, 3),
    ("terminated", {"terminateReason": {"kind": "screener", "rule": "screener"}}, 5),
    ("terminated", {"terminateReason": {"kind": "quality", "rule": "speeder"}}, 4),
    ("terminated", {}, 4),
    ("abandoned", {}, None),
    ("already_completed", {}, None),
])
def test_result_codes(outcome: str, details: dict, code: int | None) -> None:  # type: ignore[type-arg]
    assert result_code(outcome, details) == code


def test_callbacks_in_both_forms() -> None:
    signer = Signer("sec")
    post = build_callback("http://127.0.0.1:5", "T-1", 10, signer, "key-1")
    assert post.method == "POST" and post.url.startswith("http://127.0.0.1:5/respondent_result/callbacks/?enc=")
    assert orjson.loads(post.body) == {"transaction_id": "T-1", "result": 10, "reason": None}
    assert post.headers["x-api-key"] == "a2V5LTE="  # base64("key-1")
    assert signer.verify(post.url, post.body)
    get = build_callback("http://127.0.0.1:5/", "T 2", 5, signer, "key-1", mode="redirect", reason="screener")
    assert get.method == "GET" and get.body == b""
    assert get.url.startswith("http://127.0.0.1:5/respondent_result/?result=5&transaction_id=T+2&reason=screener&enc=")
    assert signer.verify(get.url)


def test_the_panel_hears_of_a_returners_completion_not_its_re_entry() -> None:
    assert panel_result("already_completed", ["success", "survey_complete", "already_completed"]) == 10
    assert panel_result("terminated", ["success", "terminated"], {"terminateReason": {"kind": "screener"}}) == 5
    assert panel_result("abandoned", ["success", "success"]) is None
    assert panel_result("redirect", ["success", "redirect"]) is None


def test_a_non_ascii_enc_is_refused_not_an_exception() -> None:
    from loadtest.core.panel import Signer

    url = "http://127.0.0.1/respondent_result/?result=5&transaction_id=T&enc=%C3%A9%F2%95%AB%9C"
    assert Signer("s").verify(url) is False
