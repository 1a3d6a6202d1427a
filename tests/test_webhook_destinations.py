"""Where webhooks may go: every refused range, by literal address and by what a name
resolves to, and the local stage's loopback-only rule."""

from __future__ import annotations

from typing import List, Sequence

import pytest

from chalicelib.events.destinations import RefusedDestination, parse, resolve

REFUSED = {
    "loopback": ["127.0.0.1", "127.255.0.9", "::1"],
    "private": ["10.0.0.1", "172.16.5.4", "172.31.255.255", "192.168.1.1", "fd00::1", "fc12::9"],
    "link-local (the metadata service)": ["169.254.169.254", "169.254.1.1", "fe80::1", "fd00:ec2::254"],
    "shared (CGNAT)": ["100.64.0.1", "100.127.255.254"],
    "unspecified": ["0.0.0.0", "::"],  # noqa: S104 (refused, not bound)
    "multicast": ["224.0.0.1", "239.1.2.3", "ff02::1"],
    "reserved and special": ["240.0.0.1", "255.255.255.255", "192.0.0.1", "198.18.0.1", "192.0.2.1", "2001:db8::1"],
    "IPv4 inside IPv6": ["::ffff:127.0.0.1", "::ffff:10.0.0.1", "64:ff9b::a9fe:a9fe", "2002:7f00:1::1"],
}
PUBLIC = ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111", "64:ff9b::808:808"]


def resolver(*addresses: str):  # type: ignore[no-untyped-def]
    def resolve_to(host: str, port: int) -> Sequence[str]:
        return list(addresses)

    return resolve_to


@pytest.mark.parametrize("address", [a for addresses in REFUSED.values() for a in addresses])
def test_a_name_resolving_to_a_refused_address_is_refused(address: str) -> None:
    destination = parse("https://hooks.example/in", local=False)
    with pytest.raises(RefusedDestination, match="not a public address"):
        resolve(destination, local=False, resolver=resolver(address))


@pytest.mark.parametrize("address", [a for addresses in REFUSED.values() for a in addresses if ":" not in a])
def test_a_refused_address_written_in_the_url_is_refused_when_the_webhook_is_set(address: str) -> None:
    with pytest.raises(RefusedDestination, match="not a public address"):
        parse(f"https://{address}/in", local=False)


@pytest.mark.parametrize("address", ["::1", "fd00::1", "::ffff:10.0.0.1"])
def test_ipv6_literals_are_checked_too(address: str) -> None:
    with pytest.raises(RefusedDestination, match="not a public address"):
        parse(f"https://[{address}]:8443/in", local=False)


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_are_delivered_to_and_pinned(address: str) -> None:
    destination = resolve(parse("https://hooks.example:8443/in?x=1", local=False), False, resolver(address))
    assert destination.addresses == (address,)
    assert (destination.host, destination.port, destination.target) == ("hooks.example", 8443, "/in?x=1")


def test_one_private_address_among_public_ones_refuses_the_name() -> None:
    destination = parse("https://hooks.example/in", local=False)
    with pytest.raises(RefusedDestination, match=r"10\.1\.2\.3"):
        resolve(destination, local=False, resolver=resolver("8.8.8.8", "10.1.2.3"))


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://hooks.example/in", "https only"),
        ("ftp://hooks.example/in", "must be https"),
        ("https:///in", "must be https"),
        ("https://user:secret@hooks.example/in", "user name or password"),
        ("https://hooks.example:99999/in", "not a URL"),
        ("https://hooks.example/" + "a" * 2100, "longer than"),
    ],
)
def test_urls_a_deployed_stage_refuses(url: str, reason: str) -> None:
    with pytest.raises(RefusedDestination, match=reason):
        parse(url, local=False)


def test_the_local_stage_delivers_to_loopback_only() -> None:
    for url in ("http://127.0.0.1:9100/hook", "http://localhost:9100/", "https://[::1]:9100/"):
        destination = parse(url, local=True)
        assert resolve(destination, local=True, resolver=resolver("127.0.0.1")).addresses == ("127.0.0.1",)
    with pytest.raises(RefusedDestination, match="localhost only"):
        parse("https://hooks.example/in", local=True)
    with pytest.raises(RefusedDestination, match="not a loopback address"):
        resolve(parse("http://localhost:9100/", local=True), local=True, resolver=resolver("10.0.0.1"))


def test_a_name_that_does_not_resolve_is_refused() -> None:
    with pytest.raises(RefusedDestination, match="does not resolve"):
        resolve(parse("https://hooks.example/in", local=False), False, resolver())


def test_the_system_resolver_refuses_names_that_do_not_exist() -> None:
    found: List[str] = []
    with pytest.raises(RefusedDestination, match="does not resolve"):
        found.extend(resolve(parse("https://no-such-host.invalid/in", local=False), False).addresses)
    assert found == []
