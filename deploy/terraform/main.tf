# Vanguard on ECS Fargate behind an existing ALB: web service (autoscaled,
# circuit breaker with rollback), worker service, target group, listener
# rules, security group, log group.
#
# The container shape (user, read-only root filesystem, entry point, command,
# port, health check, stop timeout, log driver) comes from the task definition
# JSON files in ../ecs, which also register as-is with
# `aws ecs register-task-definition --cli-input-json file://...`. Terraform
# reads them and replaces only what differs per environment: image, roles,
# secrets, log group and region, and the environment variables below.

data "aws_ecs_cluster" "this" {
  cluster_name = var.cluster_name
}

data "aws_lb_listener" "public" {
  arn = var.alb_listener_arn
}

data "aws_lb" "public" {
  arn = data.aws_lb_listener.public.load_balancer_arn
}

# Only read when trusted_proxies is null: the ALB's subnets are the proxies.
data "aws_subnet" "alb" {
  for_each = var.trusted_proxies == null ? toset(data.aws_lb.public.subnets) : toset([])
  id       = each.value
}

locals {
  web_json    = jsondecode(file("${path.module}/../ecs/task-definition.json"))
  worker_json = jsondecode(file("${path.module}/../ecs/worker-task-definition.json"))

  web_in    = local.web_json.containerDefinitions[0]
  worker_in = local.worker_json.containerDefinitions[0]

  web_container_name = local.web_in.name
  web_port           = local.web_in.portMappings[0].containerPort

  trusted_proxies = coalesce(var.trusted_proxies, join(",", sort([for s in data.aws_subnet.alb : s.cidr_block])))

  # Environment shared by both containers, layered over the JSON files' values.
  common_env = {
    AWS_REGION                  = var.region
    RUST_LOG                    = var.rust_log
    VANGUARD_DB_MAX_CONNECTIONS = tostring(var.db_max_connections)
    VANGUARD_PUBLIC_ORIGIN      = "https://${var.hostname}"
    VANGUARD_STORAGE_URL        = var.storage_url
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
    { name = "DATABASE_URL", valueFrom = var.database_url_secret_arn },
    { name = "VANGUARD_MASTER_KEY", valueFrom = var.master_key_secret_arn },
    { name = "VANGUARD_JWT_SECRET", valueFrom = var.jwt_secret_secret_arn },
  ]

  web_container = merge(local.web_in, {
    image       = var.image
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
    image       = var.image
    environment = [for k, v in local.worker_env : { name = k, value = v }]
    secrets     = local.secrets
    logConfiguration = merge(local.worker_in.logConfiguration, {
      options = merge(local.worker_in.logConfiguration.options, {
        "awslogs-group"  = aws_cloudwatch_log_group.this.name
        "awslogs-region" = var.region
      })
    })
  })

  task_security_groups = concat([aws_security_group.tasks.id], var.extra_task_security_group_ids)
}

# --- Logs -------------------------------------------------------------------------

resource "aws_cloudwatch_log_group" "this" {
  name              = "/ecs/${var.name}"
  retention_in_days = var.log_retention_days
}

# --- Network ------------------------------------------------------------------------

resource "aws_security_group" "tasks" {
  name        = "${var.name}-tasks"
  description = "Vanguard web and worker tasks"
  vpc_id      = var.vpc_id
}

resource "aws_vpc_security_group_ingress_rule" "from_alb" {
  security_group_id            = aws_security_group.tasks.id
  description                  = "HTTP from the ALB"
  referenced_security_group_id = var.alb_security_group_id
  ip_protocol                  = "tcp"
  from_port                    = local.web_port
  to_port                      = local.web_port
}

resource "aws_vpc_security_group_ingress_rule" "from_scrapers" {
  for_each = toset(var.metrics_scraper_security_group_ids)

  security_group_id            = aws_security_group.tasks.id
  description                  = "Prometheus scrape of /metrics"
  referenced_security_group_id = each.value
  ip_protocol                  = "tcp"
  from_port                    = local.web_port
  to_port                      = local.web_port
}

resource "aws_vpc_security_group_egress_rule" "all" {
  security_group_id = aws_security_group.tasks.id
  description       = "Database, ECR, Secrets Manager, CloudWatch Logs, S3"
  ip_protocol       = "-1"
  cidr_ipv4         = "0.0.0.0/0"
}

# --- Load balancer ---------------------------------------------------------------------

resource "aws_lb_target_group" "web" {
  name                 = "${var.name}-web"
  vpc_id               = var.vpc_id
  target_type          = "ip"
  protocol             = "HTTP"
  port                 = local.web_port
  deregistration_delay = 15

  health_check {
    path                = "/health/ready"
    port                = "traffic-port"
    protocol            = "HTTP"
    matcher             = "200"
    interval            = 10
    timeout             = 5
    healthy_threshold   = 2
    unhealthy_threshold = 3
  }
}

# /metrics is for Prometheus inside the VPC, not for the internet.
resource "aws_lb_listener_rule" "block_metrics" {
  listener_arn = var.alb_listener_arn
  priority     = var.listener_rule_priority

  action {
    type = "fixed-response"

    fixed_response {
      content_type = "text/plain"
      message_body = "Not Found"
      status_code  = "404"
    }
  }

  condition {
    host_header {
      values = [var.hostname]
    }
  }

  condition {
    path_pattern {
      values = ["/metrics", "/metrics/*"]
    }
  }
}

resource "aws_lb_listener_rule" "web" {
  listener_arn = var.alb_listener_arn
  priority     = var.listener_rule_priority + 1

  action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.web.arn
  }

  condition {
    host_header {
      values = [var.hostname]
    }
  }
}

# --- Task definitions -----------------------------------------------------------------

resource "aws_ecs_task_definition" "web" {
  family                   = local.web_json.family
  requires_compatibilities = local.web_json.requiresCompatibilities
  network_mode             = local.web_json.networkMode
  cpu                      = local.web_json.cpu
  memory                   = local.web_json.memory
  execution_role_arn       = var.execution_role_arn
  task_role_arn            = var.task_role_arn

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
  execution_role_arn       = var.execution_role_arn
  task_role_arn            = var.task_role_arn

  runtime_platform {
    operating_system_family = local.worker_json.runtimePlatform.operatingSystemFamily
    cpu_architecture        = local.worker_json.runtimePlatform.cpuArchitecture
  }

  container_definitions = jsonencode([local.worker_container])
}

# --- Services ---------------------------------------------------------------------------

resource "aws_ecs_service" "web" {
  name             = "${var.name}-web"
  cluster          = data.aws_ecs_cluster.this.arn
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
    subnets          = var.private_subnet_ids
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
    # Autoscaling owns the running count once the service exists.
    ignore_changes = [desired_count]
  }

  # The target group must be attached to the load balancer before a service uses it.
  depends_on = [aws_lb_listener_rule.web]
}

resource "aws_ecs_service" "worker" {
  name             = "${var.name}-worker"
  cluster          = data.aws_ecs_cluster.this.arn
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
    subnets          = var.private_subnet_ids
    security_groups  = local.task_security_groups
    assign_public_ip = false
  }

  propagate_tags          = "SERVICE"
  enable_ecs_managed_tags = true
}

# --- Autoscaling (web) -------------------------------------------------------------------

resource "aws_appautoscaling_target" "web" {
  service_namespace  = "ecs"
  resource_id        = "service/${data.aws_ecs_cluster.this.cluster_name}/${aws_ecs_service.web.name}"
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
      resource_label         = "${data.aws_lb.public.arn_suffix}/${aws_lb_target_group.web.arn_suffix}"
    }
  }
}
