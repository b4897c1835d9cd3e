# --- Where ----------------------------------------------------------------------

variable "region" {
  description = "AWS region to stand the stack up in."
  type        = string
  default     = "eu-west-1"
}

variable "name" {
  description = "Name prefix of every resource (VPC, ALB, cluster, services, database, bucket, roles, secrets)."
  type        = string
  default     = "vanguard"

  validation {
    # The target group name is <name>-web and may be at most 32 characters.
    condition     = can(regex("^[a-z0-9][a-z0-9-]{0,27}$", var.name))
    error_message = "name: lower-case letters, digits and '-', at most 28 characters."
  }
}

variable "tags" {
  description = "Extra tags applied to every resource."
  type        = map(string)
  default     = {}
}

variable "availability_zone_count" {
  description = "Availability zones to spread the subnets, tasks and (with db_multi_az) the database over."
  type        = number
  default     = 2

  validation {
    condition     = var.availability_zone_count >= 2 && var.availability_zone_count <= 4
    error_message = "availability_zone_count: 2 to 4 (an ALB needs two zones)."
  }
}

variable "vpc_cidr" {
  description = "CIDR of the new VPC (a /16 is split into /20 subnets)."
  type        = string
  default     = "10.40.0.0/16"
}

variable "single_nat_gateway" {
  description = "One NAT gateway for all zones (cheaper) instead of one per zone (survives a zone outage)."
  type        = bool
  default     = true
}

variable "metrics_scraper_security_group_ids" {
  description = "Security groups of Prometheus scrapers allowed to reach port 3000 (GET /metrics) on the tasks directly."
  type        = list(string)
  default     = []
}

variable "hostname" {
  description = "Public host name, e.g. vanguard.example.com. The listener forwards it to Vanguard; also VANGUARD_PUBLIC_ORIGIN=https://<hostname>."
  type        = string
}

variable "route53_zone_id" {
  description = "Route 53 hosted zone of hostname: the certificate is validated through it and hostname gets an alias to the ALB. null: manage DNS yourself and pass certificate_arn."
  type        = string
  default     = null
}

variable "certificate_arn" {
  description = "An existing ACM certificate for hostname in this region. null: request one (needs route53_zone_id)."
  type        = string
  default     = null

  validation {
    condition     = var.certificate_arn != null || var.route53_zone_id != null
    error_message = "Set route53_zone_id (certificate validated through DNS here) or certificate_arn."
  }
}

# --- What -----------------------------------------------------------------------

variable "image_tag" {
  description = "Tag of the image in this stack's ECR repository for the first apply (deploy.yml rolls out later ones), e.g. the commit SHA."
  type        = string
}

variable "storage_prefix" {
  description = "Prefix in the storage bucket (VANGUARD_STORAGE_URL=s3://<bucket>/<prefix>); audit checkpoints go under <prefix>/audit/checkpoints/."
  type        = string
  default     = "production"

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9/-]*[a-z0-9]$", var.storage_prefix))
    error_message = "storage_prefix: lower-case letters, digits, '-' and '/', not starting or ending with '/'."
  }
}

variable "noncurrent_version_days" {
  description = "Days an overwritten or deleted object version is kept (locked versions: until their retention ends)."
  type        = number
  default     = 90
}

variable "ecr_keep_images" {
  description = "Images kept in ECR (older ones expire; rollbacks need the recent ones)."
  type        = number
  default     = 50
}

variable "github_repository" {
  description = "owner/name of the GitHub repository whose deploy.yml may deploy (OIDC role). null: no deploy role."
  type        = string
  default     = null
}

variable "create_github_oidc_provider" {
  description = "Create the account's GitHub OIDC provider (false if the account already has one)."
  type        = bool
  default     = true
}

# --- Database -------------------------------------------------------------------

variable "db_engine_major_version" {
  description = "PostgreSQL major version."
  type        = string
  default     = "16"
}

variable "db_instance_class" {
  description = "RDS instance class."
  type        = string
  default     = "db.t4g.medium"
}

variable "db_allocated_storage_gb" {
  description = "Initial storage (GB, gp3)."
  type        = number
  default     = 20
}

variable "db_max_allocated_storage_gb" {
  description = "Storage autoscaling ceiling (GB)."
  type        = number
  default     = 200
}

variable "db_multi_az" {
  description = "A standby in a second zone (failover in a minute or two)."
  type        = bool
  default     = true
}

variable "db_backup_retention_days" {
  description = "Automated backups (point-in-time recovery window), 1-35 days."
  type        = number
  default     = 14

  validation {
    condition     = var.db_backup_retention_days >= 1 && var.db_backup_retention_days <= 35
    error_message = "db_backup_retention_days: 1 to 35 (0 would switch backups off)."
  }
}

variable "db_password" {
  description = "Database password, needed on the first apply and when db_password_version changes: TF_VAR_db_password=$(openssl rand -hex 24). Ephemeral and write-only: never in the plan or the state."
  type        = string
  default     = null
  sensitive   = true
  ephemeral   = true
}

variable "db_password_version" {
  description = "Bump (with a new db_password) to change the database password and DATABASE_URL; the tasks read it at their next deploy."
  type        = number
  default     = 1
}

variable "db_deletion_protection" {
  description = "Refuse to delete the database (set false, apply, then destroy)."
  type        = bool
  default     = true
}

variable "rust_log" {
  description = "RUST_LOG filter."
  type        = string
  default     = "info,sqlx=warn,tower_http=warn"
}

variable "db_max_connections" {
  description = "VANGUARD_DB_MAX_CONNECTIONS per task. (web max_capacity + worker count) x this must stay below the database's max_connections."
  type        = number
  default     = 10
}

variable "extra_environment" {
  description = "More environment variables for both containers (they override the JSON files' values)."
  type        = map(string)
  default     = {}
}

variable "log_retention_days" {
  description = "CloudWatch Logs retention."
  type        = number
  default     = 30
}

# --- How many -------------------------------------------------------------------

variable "web_desired_count" {
  description = "Initial number of web tasks (autoscaling takes over afterwards; Terraform then ignores drift)."
  type        = number
  default     = 2
}

variable "web_min_capacity" {
  description = "Autoscaling floor for web tasks."
  type        = number
  default     = 2
}

variable "web_max_capacity" {
  description = "Autoscaling ceiling for web tasks."
  type        = number
  default     = 10
}

variable "cpu_target_percent" {
  description = "Target average CPU utilisation of the web service."
  type        = number
  default     = 60
}

variable "requests_per_target" {
  description = "Target ALB requests per task per minute (ALBRequestCountPerTarget). Measure a task's capacity and set ~60% of it."
  type        = number
  default     = 1000
}

variable "worker_desired_count" {
  description = "Number of worker tasks (`server worker`). Workers are not autoscaled here."
  type        = number
  default     = 1
}
