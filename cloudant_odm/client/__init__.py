"""The endpoint client: call-compatible with the official ``ibmcloudant`` SDK's ``CloudantV1``."""
