# Vanguard on ECS Fargate, from an empty account region: the network
# (network.tf), the load balancer with HTTPS (alb.tf), PostgreSQL and the
# secrets (database.tf), object storage and the image registry (storage.tf),
# the roles (iam.tf, github.tf), and here the cluster, the web service
# (autoscaled, circuit breaker with rollback), the worker service and logs.
#
# The container shape (user, read-only root filesystem, entry point, command,
# port, health check, stop timeout, log driver) comes from the task definition
# JSON files in ../ecs, which also register as-is with
# `aws ecs register-task-definition --cli-input-json file://...`. Terraform
# reads them and replaces only what differs per environment: image, roles,
# secrets, log group and region, and the environment variables below.
#
# Image updates after the first apply belong to .github/workflows/deploy.yml,
# which registers revisions with the new image; the services ignore
# task_definition drift for that reason (see ../README.md).

locals {
  web_json    = jsondecode(file("${path.module}/../ecs/task-definition.json"))
  worker_json = jsondecode(file("${path.module}/../ecs/worker-task-definition.json"))

  web_in    = local.web_json.containerDefinitions[0]
  worker_in = local.worker_json.containerDefinitions[0]

  web_container_name = local.web_in.name
  web_port           = local.web_in.portMappings[0].containerPort

  # The ALB's addresses are in the public subnets.
  trusted_proxies = join(",", local.public_cidrs)
  image           = "${aws_ecr_repository.this.repository_url}:${var.image_tag}"

  # Environment shared by both containers, layered over the JSON files' values.
  common_env = {
    AWS_REGION                  = var.region
    RUST_LOG                    = var.rust_log
    VANGUARD_DB_MAX_CONNECTIONS = tostring(var.db_max_connections)
    VANGUARD_PUBLIC_ORIGIN      = "https://${var.hostname}"
    VANGUARD_STORAGE_URL        = local.storage_url
  }

  web_env = merge(
    { for e in local.web_in.environment : e.name => e.value },
    local.common_env,
    { VANGUARD_TRUSTED_PROXIES = local.trusted_proxies },
    var.extra_environment,
  )
  worker_env = merge(
    { for e in local.worker_in.environment : e.name => e.value },
    local.common_env,
    var.extra_environment,
  )

  secrets = [
    { name = "DATABASE_URL", valueFrom = aws_secretsmanager_secret.database_url.arn },
    { name = "VANGUARD_MASTER_KEY", valueFrom = aws_secretsmanager_secret.master_key.arn },
    { name = "VANGUARD_JWT_SECRET", valueFrom = aws_secretsmanager_secret.jwt_secret.arn },
  ]

  web_container = merge(local.web_in, {
    image       = local.image
    environment = [for k, v in local.web_env : { name = k, value = v }]
    secrets     = local.secrets
    logConfiguration = merge(local.web_in.logConfiguration, {
      options = merge(local.web_in.logConfiguration.options, {
        "awslogs-group"  = aws_cloudwatch_log_group.this.name
        "awslogs-region" = var.region
      })
    })
  })

  worker_container = merge(local.worker_in, {
    image       = local.image
    environment = [for k, v in local.worker_env : { name = k, value = v }]
    secrets     = local.secrets
    logConfiguration = merge(local.worker_in.logConfiguration, {
      options = merge(local.worker_in.logConfiguration.options, {
        "awslogs-group"  = aws_cloudwatch_log_group.this.name
        "awslogs-region" = var.region
      })
    })
  })

  task_security_groups = [aws_security_group.tasks.id]
}

# --- Cluster ----------------------------------------------------------------------

resource "aws_ecs_cluster" "this" {
  name = var.name

  setting {
    name  = "containerInsights"
    value = "enabled"
  }
}

# --- Logs -------------------------------------------------------------------------

resource "aws_cloudwatch_log_group" "this" {
  name              = "/ecs/${var.name}"
  retention_in_days = var.log_retention_days
}

# --- Task definitions -----------------------------------------------------------------

resource "aws_ecs_task_definition" "web" {
  family                   = local.web_json.family
  requires_compatibilities = local.web_json.requiresCompatibilities
  network_mode             = local.web_json.networkMode
  cpu                      = local.web_json.cpu
  memory                   = local.web_json.memory
  execution_role_arn       = aws_iam_role.execution.arn
  task_role_arn            = aws_iam_role.task.arn

  runtime_platform {
    operating_system_family = local.web_json.runtimePlatform.operatingSystemFamily
    cpu_architecture        = local.web_json.runtimePlatform.cpuArchitecture
  }

  container_definitions = jsonencode([local.web_container])
}

resource "aws_ecs_task_definition" "worker" {
  family                   = local.worker_json.family
  requires_compatibilities = local.worker_json.requiresCompatibilities
  network_mode             = local.worker_json.networkMode
  cpu                      = local.worker_json.cpu
  memory                   = local.worker_json.memory
  execution_role_arn       = aws_iam_role.execution.arn
  task_role_arn            = aws_iam_role.task.arn

  runtime_platform {
    operating_system_family = local.worker_json.runtimePlatform.operatingSystemFamily
    cpu_architecture        = local.worker_json.runtimePlatform.cpuArchitecture
  }

  container_definitions = jsonencode([local.worker_container])
}

# --- Services ---------------------------------------------------------------------------

resource "aws_ecs_service" "web" {
  name             = "${var.name}-web"
  cluster          = aws_ecs_cluster.this.arn
  task_definition  = aws_ecs_task_definition.web.arn
  desired_count    = var.web_desired_count
  launch_type      = "FARGATE"
  platform_version = "LATEST"

  # Start-up runs pending migrations before /health/ready can answer 200.
  health_check_grace_period_seconds  = 60
  deployment_minimum_healthy_percent = 100
  deployment_maximum_percent         = 200

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  network_configuration {
    subnets          = aws_subnet.private[*].id
    security_groups  = local.task_security_groups
    assign_public_ip = false
  }

  load_balancer {
    target_group_arn = aws_lb_target_group.web.arn
    container_name   = local.web_container_name
    container_port   = local.web_port
  }

  propagate_tags          = "SERVICE"
  enable_ecs_managed_tags = true

  lifecycle {
    # Autoscaling owns the running count once the service exists; deploy.yml
    # owns the revision (it swaps the image).
    ignore_changes = [desired_count, task_definition]
  }

  # The target group must be attached to the load balancer before a service uses it.
  depends_on = [aws_lb_listener_rule.web]
}

resource "aws_ecs_service" "worker" {
  name             = "${var.name}-worker"
  cluster          = aws_ecs_cluster.this.arn
  task_definition  = aws_ecs_task_definition.worker.arn
  desired_count    = var.worker_desired_count
  launch_type      = "FARGATE"
  platform_version = "LATEST"

  deployment_minimum_healthy_percent = 100
  deployment_maximum_percent         = 200

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  network_configuration {
    subnets          = aws_subnet.private[*].id
    security_groups  = local.task_security_groups
    assign_public_ip = false
  }

  propagate_tags          = "SERVICE"
  enable_ecs_managed_tags = true

  lifecycle {
    ignore_changes = [task_definition]
  }
}

# --- Autoscaling (web) -------------------------------------------------------------------

resource "aws_appautoscaling_target" "web" {
  service_namespace  = "ecs"
  resource_id        = "service/${aws_ecs_cluster.this.name}/${aws_ecs_service.web.name}"
  scalable_dimension = "ecs:service:DesiredCount"
  min_capacity       = var.web_min_capacity
  max_capacity       = var.web_max_capacity
}

resource "aws_appautoscaling_policy" "web_cpu" {
  name               = "${var.name}-web-cpu"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.web.service_namespace
  resource_id        = aws_appautoscaling_target.web.resource_id
  scalable_dimension = aws_appautoscaling_target.web.scalable_dimension

  target_tracking_scaling_policy_configuration {
    target_value       = var.cpu_target_percent
    scale_out_cooldown = 60
    scale_in_cooldown  = 300

    predefined_metric_specification {
      predefined_metric_type = "ECSServiceAverageCPUUtilization"
    }
  }
}

resource "aws_appautoscaling_policy" "web_requests" {
  name               = "${var.name}-web-requests"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.web.service_namespace
  resource_id        = aws_appautoscaling_target.web.resource_id
  scalable_dimension = aws_appautoscaling_target.web.scalable_dimension

  target_tracking_scaling_policy_configuration {
    target_value       = var.requests_per_target
    scale_out_cooldown = 60
    scale_in_cooldown  = 300

    predefined_metric_specification {
      predefined_metric_type = "ALBRequestCountPerTarget"
      resource_label         = "${aws_lb.public.arn_suffix}/${aws_lb_target_group.web.arn_suffix}"
    }
  }
}
