"""minio-py's flow (see ../README.md):

  compose   compose_object() of two ranges of one source (its last 5 MiB, then its first
            2 MiB): StatObject, CreateMultipartUpload, UploadPartCopy with
            x-amz-copy-source-range and x-amz-copy-source-if-match per part,
            CompleteMultipartUpload
"""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
import flowlib  # noqa: E402
from flowlib import MIB, segment  # noqa: E402

import minio  # noqa: E402
import urllib3  # noqa: E402
from minio.commonconfig import ComposeSource  # noqa: E402


class RecordingPool(urllib3.PoolManager):
    """The HTTP client minio-py is given: records each exchange, never retries (a retry
    would hide what the server did)."""

    def __init__(self, flow):
        super().__init__(
            timeout=urllib3.Timeout(connect=10, read=60),
            retries=urllib3.Retry(total=0, redirect=0, raise_on_status=False),
        )
        self.flow = flow

    def urlopen(self, method, url, redirect=True, **kw):
        self.flow.sent(method, url, (kw.get("headers") or {}).items())
        response = super().urlopen(method, url, redirect=redirect, **kw)
        body = response.data if response.status >= 300 and kw.get("preload_content", True) else None
        self.flow.answered(response.status, body)
        return response


def client(flow):
    host = flow.endpoint.split("://", 1)[1].rstrip("/")
    return minio.Minio(
        host,
        access_key=flow.access_key,
        secret_key=flow.secret_key,
        region=flow.region,
        secure=flow.endpoint.startswith("https://"),
        http_client=RecordingPool(flow),
    )


def compose(flow):
    s3 = client(flow)
    size = flow.size(flow.data_a)
    flow.run("create-source-bucket", s3.make_bucket, flow.src_bucket)
    flow.run("create-destination-bucket", s3.make_bucket, flow.dst_bucket)
    # One PutObject: a part size above the source size.
    flow.run("put-source", s3.fput_object, flow.src_bucket, flow.src_key, flow.data_a, part_size=16 * MIB)
    # Every source but the last must be at least 5 MiB.
    ranges = [(2 * MIB, size - 1), (0, 2 * MIB - 1)]
    sources = [
        ComposeSource(flow.src_bucket, flow.src_key, offset=first, length=last - first + 1)
        for first, last in ranges
    ]
    flow.run("compose-object", s3.compose_object, flow.dst_bucket, flow.dst_key, sources)
    flow.expect = [segment("a", first, last) for first, last in ranges]


flowlib.main({"compose": compose}, lambda: flowlib.Flow("minio-py", minio.__version__))
