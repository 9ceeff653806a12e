"""The demo gives BIOCOM an API key and prints a curl command that works."""

from __future__ import annotations

import re

import pytest

from portal.demo import load_demo_data


@pytest.mark.usefixtures("network")
def test_the_demo_prints_a_working_curl_for_biocom(client) -> None:
    lines = "\n".join(load_demo_data(base_url="http://127.0.0.1:5000"))

    secret = re.search(r"Bearer (lkj_\S+)\"", lines).group(1)
    path = re.search(r"http://127\.0\.0\.1:5000(/api/v1/\S+)", lines.split("curl")[1]).group(1)
    response = client.get(path, headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 200
    assert [m["person"]["email"] for m in response.json["items"]] == ["member@biocom.example"]
    # Run again, the demo prints a new key and the old one stops.
    load_demo_data()
    assert client.get(path, headers={"Authorization": f"Bearer {secret}"}).status_code == 401
