# `terraform test` (after `terraform init -backend=false`): plans and applies
# the module against a mocked AWS provider (mock_provider: nothing
# is created, no credentials or network are needed) and checks what it builds.
# Provider downloads are impossible on the CI machines, so this runs where the
# registry is reachable (deploy/validate.sh runs it when `terraform init` works).

mock_provider "aws" {
  # Mocked ARNs must be well-formed where the provider validates them.
  mock_resource "aws_lb_target_group" {
    defaults = {
      arn        = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/vanguard-web/0123456789abcdef"
      arn_suffix = "targetgroup/vanguard-web/0123456789abcdef"
    }
  }

  mock_resource "aws_lb" {
    defaults = {
      arn        = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/vanguard/0123456789abcdef"
      arn_suffix = "app/vanguard/0123456789abcdef"
    }
  }

  mock_resource "aws_lb_listener" {
    defaults = { arn = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/vanguard/0123456789abcdef/0123456789abcdef" }
  }

  mock_resource "aws_ecr_repository" {
    defaults = {
      arn            = "arn:aws:ecr:eu-west-1:123456789012:repository/vanguard"
      repository_url = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/vanguard"
    }
  }

  mock_resource "aws_ecs_cluster" {
    defaults = { arn = "arn:aws:ecs:eu-west-1:123456789012:cluster/vanguard" }
  }

  mock_resource "aws_ecs_task_definition" {
    defaults = { arn = "arn:aws:ecs:eu-west-1:123456789012:task-definition/vanguard-web:1" }
  }

  mock_resource "aws_s3_bucket" {
    defaults = {
      arn    = "arn:aws:s3:::vanguard-storage-0123"
      bucket = "vanguard-storage-0123"
    }
  }

  mock_resource "aws_cloudwatch_log_group" {
    defaults = { arn = "arn:aws:logs:eu-west-1:123456789012:log-group:/ecs/vanguard" }
  }

  mock_resource "aws_iam_role" {
    defaults = { arn = "arn:aws:iam::123456789012:role/mocked" }
  }

  mock_resource "aws_secretsmanager_secret" {
    defaults = { arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:vanguard/mocked-AbCdEf" }
  }

  mock_resource "aws_kms_key" {
    defaults = { arn = "arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-000000000000" }
  }

  mock_resource "aws_acm_certificate" {
    defaults = {
      arn = "arn:aws:acm:eu-west-1:123456789012:certificate/00000000-0000-0000-0000-000000000000"
      domain_validation_options = [{
        domain_name           = "vanguard.example.com"
        resource_record_name  = "_0123.vanguard.example.com."
        resource_record_type  = "CNAME"
        resource_record_value = "_4567.acm-validations.aws."
      }]
    }
  }

  mock_data "aws_availability_zones" {
    defaults = { names = ["eu-west-1a", "eu-west-1b", "eu-west-1c"] }
  }

  mock_data "aws_caller_identity" {
    defaults = { account_id = "123456789012" }
  }

  mock_data "aws_iam_policy_document" {
    defaults = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" }
  }
}

variables {
  hostname        = "vanguard.example.com"
  route53_zone_id = "Z0123456789ABCDEFGHIJ"
  image_tag       = "1.0.0"
  db_password     = "mock-password-not-used"
}

run "web_and_worker_render_from_the_json_files" {
  # apply against the mock: computed values (ARN suffixes) get fake values.
  command = apply

  assert {
    condition     = aws_ecs_task_definition.web.family == "vanguard-web" && aws_ecs_task_definition.web.cpu == "512" && aws_ecs_task_definition.web.memory == "1024"
    error_message = "web task definition family/cpu/memory do not come from ecs/task-definition.json"
  }

  assert {
    condition = (
      jsondecode(aws_ecs_task_definition.web.container_definitions)[0].image == "${aws_ecr_repository.this.repository_url}:1.0.0" &&
      jsondecode(aws_ecs_task_definition.web.container_definitions)[0].user == "10001:10001" &&
      jsondecode(aws_ecs_task_definition.web.container_definitions)[0].readonlyRootFilesystem == true &&
      jsondecode(aws_ecs_task_definition.web.container_definitions)[0].stopTimeout == 30 &&
      jsondecode(aws_ecs_task_definition.web.container_definitions)[0].portMappings[0].containerPort == 3000 &&
      jsondecode(aws_ecs_task_definition.web.container_definitions)[0].healthCheck.command == ["CMD", "/app/server", "healthcheck"]
    )
    error_message = "web container lost image/user/read-only root/stop timeout/port/health check"
  }

  assert {
    condition = (
      { for e in jsondecode(aws_ecs_task_definition.web.container_definitions)[0].environment : e.name => e.value }["VANGUARD_PUBLIC_ORIGIN"] == "https://vanguard.example.com" &&
      { for e in jsondecode(aws_ecs_task_definition.web.container_definitions)[0].environment : e.name => e.value }["VANGUARD_TRUSTED_PROXIES"] == "10.40.0.0/20,10.40.16.0/20" &&
      { for e in jsondecode(aws_ecs_task_definition.web.container_definitions)[0].environment : e.name => e.value }["LEPTOS_SITE_ADDR"] == "0.0.0.0:3000" &&
      { for e in jsondecode(aws_ecs_task_definition.web.container_definitions)[0].environment : e.name => e.value }["VANGUARD_ENV"] == "production" &&
      { for e in jsondecode(aws_ecs_task_definition.web.container_definitions)[0].environment : e.name => e.value }["VANGUARD_WORKERS"] == "0" &&
      { for e in jsondecode(aws_ecs_task_definition.web.container_definitions)[0].environment : e.name => e.value }["VANGUARD_STORAGE_URL"] == "s3://${aws_s3_bucket.storage.bucket}/production"
    )
    error_message = "web environment not merged as expected"
  }

  assert {
    condition     = [for s in jsondecode(aws_ecs_task_definition.web.container_definitions)[0].secrets : s.valueFrom] == [aws_secretsmanager_secret.database_url.arn, aws_secretsmanager_secret.master_key.arn, aws_secretsmanager_secret.jwt_secret.arn]
    error_message = "secrets do not point at the given ARNs"
  }

  assert {
    condition     = jsondecode(aws_ecs_task_definition.web.container_definitions)[0].logConfiguration.options["awslogs-group"] == "/ecs/vanguard" && jsondecode(aws_ecs_task_definition.web.container_definitions)[0].logConfiguration.options["awslogs-stream-prefix"] == "web"
    error_message = "web log configuration not pointed at the managed log group"
  }

  assert {
    condition = (
      jsondecode(aws_ecs_task_definition.worker.container_definitions)[0].command == ["worker"] &&
      jsondecode(aws_ecs_task_definition.worker.container_definitions)[0].entryPoint == ["/app/server"] &&
      !can(jsondecode(aws_ecs_task_definition.worker.container_definitions)[0].portMappings) &&
      !contains([for e in jsondecode(aws_ecs_task_definition.worker.container_definitions)[0].environment : e.name], "VANGUARD_TRUSTED_PROXIES")
    )
    error_message = "worker container must run `/app/server worker` with no port mapping"
  }

  assert {
    condition = (
      aws_lb_target_group.web.port == 3000 && aws_lb_target_group.web.target_type == "ip" &&
      aws_lb_target_group.web.deregistration_delay == "15" &&
      aws_lb_target_group.web.health_check[0].path == "/health/ready" &&
      aws_lb_target_group.web.health_check[0].matcher == "200" &&
      aws_lb_target_group.web.health_check[0].interval == 10 &&
      aws_lb_target_group.web.health_check[0].healthy_threshold == 2
    )
    error_message = "target group port, type, deregistration delay or health check changed"
  }

  assert {
    condition     = aws_lb_listener_rule.block_metrics.priority < aws_lb_listener_rule.web.priority
    error_message = "the /metrics block must be evaluated before the forward rule"
  }

  assert {
    condition     = aws_ecs_service.web.deployment_circuit_breaker[0].enable && aws_ecs_service.web.deployment_circuit_breaker[0].rollback && one(aws_ecs_service.web.load_balancer).container_port == 3000 && one(aws_ecs_service.web.load_balancer).container_name == "vanguard"
    error_message = "web service circuit breaker / load balancer block wrong"
  }

  assert {
    condition     = aws_appautoscaling_target.web.resource_id == "service/vanguard/vanguard-web"
    error_message = "autoscaling target resource id wrong"
  }

  assert {
    condition     = aws_appautoscaling_policy.web_cpu.target_tracking_scaling_policy_configuration[0].target_value == 60
    error_message = "CPU target must default to 60%"
  }

  assert {
    condition = (
      one(aws_lb_listener.http.default_action).type == "redirect" &&
      one(one(aws_lb_listener.http.default_action).redirect).protocol == "HTTPS" &&
      aws_lb_listener.https.protocol == "HTTPS" && aws_lb_listener.https.port == 443
    )
    error_message = "HTTP must redirect to HTTPS and the HTTPS listener must exist"
  }

  assert {
    condition = (
      aws_db_instance.this.storage_encrypted && aws_db_instance.this.backup_retention_period == 14 &&
      !aws_db_instance.this.publicly_accessible && aws_db_instance.this.deletion_protection
    )
    error_message = "RDS must be encrypted, backed up, private and protected from deletion"
  }

  assert {
    condition = (
      aws_s3_bucket.storage.object_lock_enabled &&
      aws_s3_bucket_versioning.storage.versioning_configuration[0].status == "Enabled" &&
      one(aws_s3_bucket_server_side_encryption_configuration.storage.rule).apply_server_side_encryption_by_default[0].sse_algorithm == "aws:kms"
    )
    error_message = "the storage bucket must have Object Lock, versioning and KMS encryption"
  }

  assert {
    condition     = aws_ecr_repository.this.image_scanning_configuration[0].scan_on_push && aws_ecr_repository.this.image_tag_mutability == "IMMUTABLE"
    error_message = "ECR must scan on push with immutable tags"
  }

  assert {
    condition     = startswith(aws_appautoscaling_policy.web_requests.target_tracking_scaling_policy_configuration[0].predefined_metric_specification[0].resource_label, "app/vanguard/0123456789abcdef/targetgroup/")
    error_message = "ALBRequestCountPerTarget resource label must be <alb arn suffix>/<target group arn suffix>"
  }
}

run "a_certificate_or_a_zone_is_required" {
  command = plan

  variables {
    route53_zone_id = null
    certificate_arn = null
  }

  expect_failures = [var.certificate_arn]
}

run "backups_cannot_be_switched_off" {
  command = plan

  variables {
    db_backup_retention_days = 0
  }

  expect_failures = [var.db_backup_retention_days]
}
