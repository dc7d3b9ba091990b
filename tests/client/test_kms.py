"""KMS over loopback: real AES-GCM round trips and RSA/ECDSA signatures."""

from __future__ import annotations

import base64
import hashlib

import pytest

from infisical_async import (
    AsyncInfisicalClient,
    BadRequestError,
    InvalidArgumentError,
    NotFoundError,
    UnprocessableEntityError,
)


async def test_encrypt_decrypt_round_trip(client: AsyncInfisicalClient, compat: str) -> None:
    key = await client.kms.keys.create("app-data", description="app data key")
    if compat == "2024":  # that server's key answers name neither (and the write succeeded)
        assert (key.key_usage, key.encryption_algorithm) == (None, None)
    else:
        assert (key.key_usage, key.encryption_algorithm) == ("encrypt-decrypt", "aes-256-gcm")
    for payload in (b"", b"hello", bytes(range(256)) * 8):
        ciphertext = await client.kms.encrypt(key.id, payload)
        assert isinstance(ciphertext, str)
        assert ciphertext != base64.b64encode(payload).decode()  # really encrypted
        assert await client.kms.decrypt(key.id, ciphertext) == payload
    other = await client.kms.keys.create("other", encryption_algorithm="aes-128-gcm")
    with pytest.raises(BadRequestError) as caught:  # not this key's ciphertext
        await client.kms.decrypt(other.id, await client.kms.encrypt(key.id, b"x"))
    assert caught.value.error == "CryptographyError"
    with pytest.raises(InvalidArgumentError) as invalid:
        await client.kms.encrypt(key.id, b"x" * 4097)
    assert invalid.value.argument == "plaintext"


@pytest.mark.parametrize(
    ("algorithm", "signing"),
    [
        ("ECC_NIST_P256", "ECDSA_SHA_256"),
        ("RSA_4096", "RSASSA_PSS_SHA_512"),
    ],
)
async def test_sign_and_verify(
    client: AsyncInfisicalClient, compat: str, algorithm: str, signing: str
) -> None:
    if compat == "2024":  # symmetric keys only on that server
        with pytest.raises(UnprocessableEntityError) as refused:
            await client.kms.keys.create(
                "signer", key_usage="sign-verify", encryption_algorithm=algorithm
            )
        assert refused.value.status_code == 401
        assert refused.value.issues[0]["path"] == ["encryptionAlgorithm"]
        return
    key = await client.kms.keys.create(
        "signer", key_usage="sign-verify", encryption_algorithm=algorithm
    )
    assert signing in await client.kms.signing_algorithms(key.id)
    assert await client.kms.public_key(key.id)
    message = b"release v1.2.3"
    signature = await client.kms.sign(key.id, message, signing_algorithm=signing)
    assert await client.kms.verify(key.id, message, signature, signing_algorithm=signing)
    assert not await client.kms.verify(key.id, b"tampered", signature, signing_algorithm=signing)
    digest = hashlib.new("sha" + signing[-3:], message).digest()
    by_digest = await client.kms.sign(key.id, digest, signing_algorithm=signing, is_digest=True)
    assert await client.kms.verify(key.id, message, by_digest, signing_algorithm=signing)


async def test_key_management(client: AsyncInfisicalClient, compat: str) -> None:
    names = ["alpha", "beta", "gamma"]
    created = [await client.kms.keys.create(n) for n in names]
    page = await client.kms.keys.list(limit=2)
    assert page.total_count == 3 and [k.name for k in page.keys] == ["alpha", "beta"]
    if compat == "2024":  # no such route on that server
        with pytest.raises(NotFoundError):
            await client.kms.keys.get_by_name("gamma")
    else:
        assert (await client.kms.keys.get_by_name("gamma")).id == created[2].id
    renamed = await client.kms.keys.update(created[0].id, name="alpha-2", is_disabled=True)
    assert (renamed.name, renamed.is_disabled) == ("alpha-2", True)
    with pytest.raises(BadRequestError):  # a disabled key does not encrypt
        await client.kms.encrypt(created[0].id, b"x")
    await client.kms.keys.delete(created[0].id)
    with pytest.raises(NotFoundError):
        await client.kms.keys.get(created[0].id)
    with pytest.raises(UnprocessableEntityError):
        await client.kms.keys.create("bad-algo", encryption_algorithm="des")
    with pytest.raises(InvalidArgumentError):
        await client.kms.keys.list(limit=0)


async def test_environments_of_the_project(client: AsyncInfisicalClient) -> None:
    environments = await client.projects.list_environments()
    assert [e.slug for e in environments] == ["dev", "staging", "prod"]
