# --- Where ----------------------------------------------------------------------

variable "region" {
  description = "AWS region of the cluster, ALB, log group and secrets."
  type        = string
  default     = "eu-west-1"
}

variable "name" {
  description = "Name prefix for the services, target group, security group and log group."
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

variable "cluster_name" {
  description = "Name of the existing ECS cluster the services run in."
  type        = string
}

variable "vpc_id" {
  description = "VPC of the ALB and the tasks."
  type        = string
}

variable "private_subnet_ids" {
  description = "Private subnets for the tasks (they need a route to ECR, Secrets Manager, CloudWatch Logs, S3 and the database: NAT or VPC endpoints)."
  type        = list(string)
}

variable "alb_listener_arn" {
  description = "ARN of the existing HTTPS listener of the ALB that fronts Vanguard."
  type        = string
}

variable "alb_security_group_id" {
  description = "Security group of that ALB; the tasks accept port 3000 from it only."
  type        = string
}

variable "metrics_scraper_security_group_ids" {
  description = "Security groups of Prometheus scrapers allowed to reach port 3000 (GET /metrics) on the tasks directly."
  type        = list(string)
  default     = []
}

variable "extra_task_security_group_ids" {
  description = "Additional security groups for the tasks, e.g. the one the database accepts connections from."
  type        = list(string)
  default     = []
}

variable "hostname" {
  description = "Host header the listener rule forwards to Vanguard, e.g. vanguard.example.com. Also sets VANGUARD_PUBLIC_ORIGIN=https://<hostname>."
  type        = string
}

variable "listener_rule_priority" {
  description = "Priority of the rule that refuses /metrics on the public listener; the forwarding rule uses this value + 1. Both must be free on the listener."
  type        = number
  default     = 100
}

# --- What -----------------------------------------------------------------------

variable "image" {
  description = "Container image, pinned by tag or digest, e.g. 123456789012.dkr.ecr.eu-west-1.amazonaws.com/vanguard:1.4.2."
  type        = string
}

variable "execution_role_arn" {
  description = "Task execution role: pulls the image, writes logs, reads the three secrets (secretsmanager:GetSecretValue, and kms:Decrypt if they use a customer-managed key)."
  type        = string
}

variable "task_role_arn" {
  description = "Task role: what the application itself may call (S3 on the storage bucket)."
  type        = string
}

variable "database_url_secret_arn" {
  description = "Secrets Manager ARN of DATABASE_URL (postgres://...)."
  type        = string
}

variable "master_key_secret_arn" {
  description = "Secrets Manager ARN of VANGUARD_MASTER_KEY (base64 of 32 bytes)."
  type        = string
}

variable "jwt_secret_secret_arn" {
  description = "Secrets Manager ARN of VANGUARD_JWT_SECRET (base64 of 32 bytes)."
  type        = string
}

variable "storage_url" {
  description = "VANGUARD_STORAGE_URL, e.g. s3://vanguard-claims/production."
  type        = string

  validation {
    condition     = startswith(var.storage_url, "s3://")
    error_message = "storage_url must be an s3:// URL: the root filesystem is read-only and tasks are ephemeral."
  }
}

variable "trusted_proxies" {
  description = "VANGUARD_TRUSTED_PROXIES for the web tasks: comma-separated CIDRs whose X-Forwarded-For is believed. null (default): the CIDRs of the ALB's subnets, looked up from the listener."
  type        = string
  default     = null
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
