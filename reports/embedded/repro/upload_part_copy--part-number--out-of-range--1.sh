#!/usr/bin/env bash
# upload_part_copy/part-number/out-of-range--1: part number -1 is refused
# Recorded: 200. Amazon S3: 400 InvalidArgument.
# Needs the AWS CLI, openssl and GNU coreutils. Run with AWS_ENDPOINT_URL,
# AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY (and AWS_DEFAULT_REGION) set; it prints
# `status=<status> code=<error code or ->` last.
set -euo pipefail
: "${AWS_ENDPOINT_URL:?set AWS_ENDPOINT_URL to the S3 endpoint, e.g. http://127.0.0.1:9000}"
: "${AWS_ACCESS_KEY_ID:?set AWS_ACCESS_KEY_ID}"
: "${AWS_SECRET_ACCESS_KEY:?set AWS_SECRET_ACCESS_KEY}"
export AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-us-east-1}"
# One attempt, path-style, no checksums the case did not ask for, no client-side checks:
# the server sees the request the case sent.
export AWS_MAX_ATTEMPTS=1 AWS_PAGER=""
export AWS_REQUEST_CHECKSUM_CALCULATION=when_required AWS_RESPONSE_CHECKSUM_VALIDATION=when_required
work=$(mktemp -d)
export AWS_CONFIG_FILE="$work/config"
printf '[default]\nparameter_validation = false\ns3 =\n    addressing_style = path\n' > "$AWS_CONFIG_FILE"
s3api() { aws s3api --endpoint-url "$AWS_ENDPOINT_URL" "$@"; }
urlenc() {
  local s="$1" out="" c i
  for ((i = 0; i < ${#s}; i++)); do
    c=${s:i:1}
    case $c in [a-zA-Z0-9._~-]) out+=$c ;; *) out+=$(printf '%%%02X' "'$c") ;; esac
  done
  printf '%s' "$out"
}
# SSE-C keys made up for this run (32 bytes each), as the CLI takes them and as headers.
sse_key=$(openssl rand -hex 16)
sse_other_key=$(openssl rand -hex 16)
sse_key_b64=$(printf '%s' "$sse_key" | base64 -w0)
sse_key_md5=$(printf '%s' "$sse_key" | openssl dgst -md5 -binary | base64 -w0)
sse_other_key_b64=$(printf '%s' "$sse_other_key" | base64 -w0)
sse_other_key_md5=$(printf '%s' "$sse_other_key" | openssl dgst -md5 -binary | base64 -w0)
bucket="repro-$(date +%s)-$(openssl rand -hex 4)"
buckets=()
cleanup() {
  set +e
  local b k v
  for b in "${buckets[@]}"; do
    s3api list-multipart-uploads --bucket "$b" --query 'Uploads[].[Key,UploadId]' --output text 2>/dev/null |
      while IFS=$'\t' read -r k v; do
        [ -n "$v" ] && [ "$k" != None ] && s3api abort-multipart-upload --bucket "$b" --key "$k" --upload-id "$v" >/dev/null 2>&1
      done
    s3api list-object-versions --bucket "$b" --query '[Versions,DeleteMarkers][][].[Key,VersionId]' --output text 2>/dev/null |
      while IFS=$'\t' read -r k v; do
        [ -n "$k" ] && [ "$k" != None ] || continue
        s3api delete-object --bucket "$b" --key "$k" --version-id "$v" >/dev/null 2>&1 ||
          s3api delete-object --bucket "$b" --key "$k" >/dev/null 2>&1
      done
    s3api list-objects-v2 --bucket "$b" --query 'Contents[].[Key]' --output text 2>/dev/null |
      while IFS=$'\t' read -r k; do
        [ -n "$k" ] && [ "$k" != None ] && s3api delete-object --bucket "$b" --key "$k" >/dev/null 2>&1
      done
    s3api delete-bucket --bucket "$b" >/dev/null 2>&1 || echo "could not delete bucket $b" >&2
  done
  rm -rf "$work"
}
trap cleanup EXIT
make_bucket() {
  if [ "$AWS_DEFAULT_REGION" = us-east-1 ]; then
    s3api create-bucket --bucket "$1" >/dev/null
  else
    s3api create-bucket --bucket "$1" --create-bucket-configuration "LocationConstraint=$AWS_DEFAULT_REGION" >/dev/null
  fi
  buckets=("$1" "${buckets[@]}")
}
none() { [ "$1" = None ] && echo "" || echo "$1"; }
json_str() { local s=${1//\\/\\\\}; printf '"%s"' "${s//\"/\\\"}"; }
make_bucket "$bucket"
head -c 65536 /dev/urandom > "$work/file1"
out=$(s3api put-object --bucket "${bucket}" --key "src" --body "$work/file1" --query '[ETag,VersionId]' --output text)
IFS=$'\t' read -r v_src_etag v_src_version_id <<< "$out"
v_src_version_id=$(none "${v_src_version_id}")
v_src_etag_unquoted="${v_src_etag//\"/}"
v_up_id=$(s3api create-multipart-upload --bucket "${bucket}" --key "dest" --query UploadId --output text)
v_up_parts=""
# The request under test.
set +e
s3api upload-part-copy \
  --bucket "${bucket}" \
  --key "dest" \
  --upload-id "${v_up_id}" \
  --part-number "-1" \
  --copy-source "${bucket}/src" \
  --debug > "$work/out" 2> "$work/debug"
set -e
cat "$work/out"
grep -E '^An error occurred|^$' "$work/debug" | grep -v '^$' >&2 || true
status=$(grep -oE 'HTTP/1\.1" [0-9]{3}' "$work/debug" | tail -1 | grep -oE '[0-9]{3}$' || true)
code=$(sed -n 's/^An error occurred (\([^)]*\)).*/\1/p' "$work/debug" | tail -1)
case "$code" in [0-9][0-9][0-9]) code="" ;; esac
echo "status=${status:-none} code=${code:--}"
