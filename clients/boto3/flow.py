"""boto3's flows (see ../README.md):

  copy             client.copy(): s3transfer's managed copy, multipart above the 5 MiB
                   threshold (HeadObject, CreateMultipartUpload, UploadPartCopy per part,
                   CompleteMultipartUpload)
  copy-versioned   the same from a versioned bucket, naming the older version of two in
                   CopySource's VersionId
"""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
import flowlib  # noqa: E402
from flowlib import MIB, segment  # noqa: E402

import boto3  # noqa: E402
import botocore  # noqa: E402
from boto3.s3.transfer import TransferConfig  # noqa: E402
from botocore.config import Config  # noqa: E402

TRANSFER = TransferConfig(multipart_threshold=5 * MIB, multipart_chunksize=5 * MIB)


def client(flow):
    s3 = boto3.session.Session().client(
        "s3",
        endpoint_url=flow.endpoint,
        region_name=flow.region,
        aws_access_key_id=flow.access_key,
        aws_secret_access_key=flow.secret_key,
        config=Config(
            s3={"addressing_style": "path"},
            # No retries, as in the harness: a retry would hide what the server did.
            retries={"total_max_attempts": 1, "mode": "standard"},
            connect_timeout=10,
            read_timeout=60,
        ),
    )
    flowlib.record_botocore(flow, s3.meta.events)
    return s3


def put(flow, s3, path):
    with open(path, "rb") as body:
        return s3.put_object(Bucket=flow.src_bucket, Key=flow.src_key, Body=body)


def buckets(flow, s3):
    flow.run("create-source-bucket", s3.create_bucket, Bucket=flow.src_bucket)
    flow.run("create-destination-bucket", s3.create_bucket, Bucket=flow.dst_bucket)


def copy(flow):
    s3 = client(flow)
    buckets(flow, s3)
    flow.run("put-source", put, flow, s3, flow.data_a)
    flow.run(
        "copy",
        s3.copy,
        {"Bucket": flow.src_bucket, "Key": flow.src_key},
        flow.dst_bucket,
        flow.dst_key,
        Config=TRANSFER,
    )
    flow.expect = [segment("a", 0, flow.size(flow.data_a) - 1)]


def copy_versioned(flow):
    s3 = client(flow)
    buckets(flow, s3)
    flow.run(
        "put-bucket-versioning",
        s3.put_bucket_versioning,
        Bucket=flow.src_bucket,
        VersioningConfiguration={"Status": "Enabled"},
    )
    first = flow.run("put-source", put, flow, s3, flow.data_a)
    version = first.get("VersionId")
    if not version or version == "null":
        flow.fail("put-source", f"PutObject in a versioned bucket answered no version id ({version!r})")
    flow.run("put-newer-version", put, flow, s3, flow.data_b)
    flow.run(
        "copy",
        s3.copy,
        {"Bucket": flow.src_bucket, "Key": flow.src_key, "VersionId": version},
        flow.dst_bucket,
        flow.dst_key,
        Config=TRANSFER,
    )
    flow.expect = [segment("a", 0, flow.size(flow.data_a) - 1)]


def make():
    import s3transfer

    version = f"{boto3.__version__} (botocore {botocore.__version__}, s3transfer {s3transfer.__version__})"
    return flowlib.Flow("boto3", version)


flowlib.main({"copy": copy, "copy-versioned": copy_versioned}, make)
