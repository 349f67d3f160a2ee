"""Gets a token from the Gatehouse agent with the real azure-identity SDK.

Usage: azure_client.py MODE SCOPE
  MODE: sync | async (App Service protocol: IDENTITY_ENDPOINT + IDENTITY_HEADER)
        imds (AZURE_POD_IDENTITY_AUTHORITY_HOST)
Prints one JSON object: {"token": ..., "expires_on": ...} or {"error": <exception class>, "message": ...}.
The caller sets the environment; this script never talks to anything but the agent.
"""
import asyncio
import json
import sys


def sync_token(scope):
    from azure.identity import ManagedIdentityCredential

    with ManagedIdentityCredential() as cred:
        return cred.get_token(scope)


async def async_token(scope):
    from azure.identity.aio import ManagedIdentityCredential

    async with ManagedIdentityCredential() as cred:
        return await cred.get_token(scope)


def main():
    mode, scope = sys.argv[1], sys.argv[2]
    try:
        if mode == "async":
            token = asyncio.run(async_token(scope))
        else:
            token = sync_token(scope)
        print(json.dumps({"token": token.token, "expires_on": token.expires_on}))
    except Exception as e:  # reported to the Rust test, which asserts on it
        print(json.dumps({"error": type(e).__name__, "message": str(e)[:500]}))


if __name__ == "__main__":
    main()
