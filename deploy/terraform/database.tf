# --- PostgreSQL (RDS): encrypted, backed up, private ------------------------------

resource "aws_db_subnet_group" "this" {
  name       = var.name
  subnet_ids = aws_subnet.private[*].id
}

resource "aws_db_parameter_group" "this" {
  name   = "${var.name}-postgres${var.db_engine_major_version}"
  family = "postgres${var.db_engine_major_version}"

  # Only TLS connections (the server's sqlx is built with rustls; the
  # DATABASE_URL below asks for sslmode=require).
  parameter {
    name  = "rds.force_ssl"
    value = "1"
  }

  parameter {
    name  = "log_min_duration_statement"
    value = "1000"
  }
}

resource "aws_db_instance" "this" {
  identifier     = var.name
  engine         = "postgres"
  engine_version = var.db_engine_major_version
  instance_class = var.db_instance_class

  allocated_storage     = var.db_allocated_storage_gb
  max_allocated_storage = var.db_max_allocated_storage_gb
  storage_type          = "gp3"
  storage_encrypted     = true

  db_name  = "vanguard"
  username = "vanguard"
  # Write-only, from an ephemeral variable: in neither the plan nor the state.
  password_wo         = var.db_password
  password_wo_version = var.db_password_version

  db_subnet_group_name   = aws_db_subnet_group.this.name
  vpc_security_group_ids = [aws_security_group.db.id]
  parameter_group_name   = aws_db_parameter_group.this.name
  publicly_accessible    = false
  multi_az               = var.db_multi_az

  backup_retention_period    = var.db_backup_retention_days
  backup_window              = "02:00-03:00"
  maintenance_window         = "sun:03:30-sun:04:30"
  copy_tags_to_snapshot      = true
  deletion_protection        = var.db_deletion_protection
  skip_final_snapshot        = false
  final_snapshot_identifier  = "${var.name}-final"
  auto_minor_version_upgrade = true
  apply_immediately          = false

  performance_insights_enabled    = true
  enabled_cloudwatch_logs_exports = ["postgresql"]
}

# --- Secrets ------------------------------------------------------------------------
# DATABASE_URL is written here, write-only like the password above.
# VANGUARD_MASTER_KEY and VANGUARD_JWT_SECRET are created empty and filled
# by the operator (README, "Deploying"), so the master key, which decrypts
# every customer's personal data, is never in the Terraform state.

resource "aws_secretsmanager_secret" "database_url" {
  name                    = "${var.name}/database-url"
  recovery_window_in_days = 7
}

resource "aws_secretsmanager_secret_version" "database_url" {
  secret_id                = aws_secretsmanager_secret.database_url.id
  secret_string_wo         = "postgres://${aws_db_instance.this.username}:${var.db_password}@${aws_db_instance.this.endpoint}/${aws_db_instance.this.db_name}?sslmode=require"
  secret_string_wo_version = var.db_password_version
}

resource "aws_secretsmanager_secret" "master_key" {
  name                    = "${var.name}/master-key"
  description             = "VANGUARD_MASTER_KEY: base64 of 32 random bytes. Back it up outside AWS."
  recovery_window_in_days = 30
}

resource "aws_secretsmanager_secret" "jwt_secret" {
  name                    = "${var.name}/jwt-secret"
  description             = "VANGUARD_JWT_SECRET: base64 of 32 random bytes."
  recovery_window_in_days = 7
}
