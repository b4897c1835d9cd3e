# --- Object storage: claims, attachments, audit checkpoints ---------------------
#
# One bucket; the application writes under storage_prefix
# (VANGUARD_STORAGE_URL = s3://<bucket>/<prefix>), signed audit checkpoints
# under <prefix>/audit/checkpoints/. Encrypted with a key of its own,
# versioned, never public. Object Lock is switched on (it can only be at
# creation) without a bucket-wide default retention, which would also lock
# attachments that must stay deletable; checkpoints are protected by the
# bucket policy below (no one deletes them or shortens their retention) and
# the task role may set a retention on them (s3:PutObjectRetention).

data "aws_caller_identity" "current" {}

resource "aws_kms_key" "storage" {
  description         = "${var.name} object storage"
  enable_key_rotation = true
}

resource "aws_kms_alias" "storage" {
  name          = "alias/${var.name}-storage"
  target_key_id = aws_kms_key.storage.key_id
}

resource "aws_s3_bucket" "storage" {
  bucket_prefix       = "${var.name}-storage-"
  object_lock_enabled = true
  # Claims data: `terraform destroy` must not empty it.
  force_destroy = false
}

resource "aws_s3_bucket_versioning" "storage" {
  bucket = aws_s3_bucket.storage.id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "storage" {
  bucket = aws_s3_bucket.storage.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.storage.arn
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_public_access_block" "storage" {
  bucket                  = aws_s3_bucket.storage.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "storage" {
  bucket = aws_s3_bucket.storage.id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_object_lock_configuration" "storage" {
  bucket = aws_s3_bucket.storage.id
  # No `rule`: no default retention (see above). Per-object retention on the
  # checkpoints is set by the writer.
  depends_on = [aws_s3_bucket_versioning.storage]
}

# Old versions of overwritten or deleted objects expire; locked versions are
# kept by S3 until their retention ends.
resource "aws_s3_bucket_lifecycle_configuration" "storage" {
  bucket = aws_s3_bucket.storage.id

  rule {
    id     = "noncurrent-versions"
    status = "Enabled"
    filter {}

    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_version_days
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }

  depends_on = [aws_s3_bucket_versioning.storage]
}

data "aws_iam_policy_document" "storage_bucket" {
  statement {
    sid       = "TlsOnly"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.storage.arn, "${aws_s3_bucket.storage.arn}/*"]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }

  statement {
    sid    = "AuditCheckpointsAreAppendOnly"
    effect = "Deny"
    actions = [
      "s3:DeleteObject",
      "s3:DeleteObjectVersion",
      "s3:BypassGovernanceRetention",
      "s3:PutObjectLegalHold",
    ]
    resources = ["${aws_s3_bucket.storage.arn}/${local.checkpoint_prefix}*"]

    principals {
      type        = "*"
      identifiers = ["*"]
    }
  }
}

resource "aws_s3_bucket_policy" "storage" {
  bucket = aws_s3_bucket.storage.id
  policy = data.aws_iam_policy_document.storage_bucket.json

  depends_on = [aws_s3_bucket_public_access_block.storage]
}

locals {
  storage_prefix    = trim(var.storage_prefix, "/")
  checkpoint_prefix = "${local.storage_prefix}/audit/checkpoints/"
  storage_url       = "s3://${aws_s3_bucket.storage.bucket}/${local.storage_prefix}"
}

# --- Container registry ------------------------------------------------------------

resource "aws_ecr_repository" "this" {
  name                 = var.name
  image_tag_mutability = "IMMUTABLE"

  image_scanning_configuration {
    scan_on_push = true
  }

  encryption_configuration {
    encryption_type = "KMS"
  }
}

resource "aws_ecr_lifecycle_policy" "this" {
  repository = aws_ecr_repository.this.name
  policy = jsonencode({
    rules = [{
      rulePriority = 1
      description  = "Keep the last ${var.ecr_keep_images} images (rollbacks need the previous ones)"
      selection = {
        tagStatus   = "any"
        countType   = "imageCountMoreThan"
        countNumber = var.ecr_keep_images
      }
      action = { type = "expire" }
    }]
  })
}
