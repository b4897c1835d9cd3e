# `terraform test` (after `terraform init -backend=false`): plans and applies
# the module against a mocked AWS provider (mock_provider: nothing is created,
# no credentials or network are needed) and checks what Terraform renders from
# ../ecs/*.json.

mock_provider "aws" {
  # Mocked ARNs must be well-formed where the provider validates them.
  mock_resource "aws_lb_target_group" {
    defaults = {
      arn        = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/vanguard-web/0123456789abcdef"
      arn_suffix = "targetgroup/vanguard-web/0123456789abcdef"
    }
  }

  override_data {
    target = data.aws_ecs_cluster.this
    values = {
      arn          = "arn:aws:ecs:eu-west-1:123456789012:cluster/example"
      cluster_name = "example"
    }
  }

  override_data {
    target = data.aws_lb_listener.public
    values = {
      load_balancer_arn = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/example/0123456789abcdef"
    }
  }

  override_data {
    target = data.aws_lb.public
    values = {
      arn_suffix = "app/example/0123456789abcdef"
      subnets    = ["subnet-aaaa", "subnet-bbbb"]
    }
  }

  override_data {
    target = data.aws_subnet.alb["subnet-aaaa"]
    values = { cidr_block = "10.0.0.0/24" }
  }

  override_data {
    target = data.aws_subnet.alb["subnet-bbbb"]
    values = { cidr_block = "10.0.1.0/24" }
  }
}

variables {
  cluster_name            = "example"
  vpc_id                  = "vpc-0123456789abcdef0"
  private_subnet_ids      = ["subnet-1111", "subnet-2222"]
  alb_listener_arn        = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/example/0123456789abcdef/0123456789abcdef"
  alb_security_group_id   = "sg-0123456789abcdef0"
  hostname                = "vanguard.example.com"
  image                   = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/vanguard:1.0.0"
  execution_role_arn      = "arn:aws:iam::123456789012:role/vanguard-ecs-execution"
  task_role_arn           = "arn:aws:iam::123456789012:role/vanguard-task"
  database_url_secret_arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:vanguard/database-url-AbCdEf"
  master_key_secret_arn   = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:vanguard/master-key-AbCdEf"
  jwt_secret_secret_arn   = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:vanguard/jwt-secret-AbCdEf"
  storage_url             = "s3://vanguard-claims/production"
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
      jsondecode(aws_ecs_task_definition.web.container_definitions)[0].image == var.image &&
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
      { for e in jsondecode(aws_ecs_task_definition.web.container_definitions)[0].environment : e.name => e.value }["VANGUARD_TRUSTED_PROXIES"] == "10.0.0.0/24,10.0.1.0/24" &&
      { for e in jsondecode(aws_ecs_task_definition.web.container_definitions)[0].environment : e.name => e.value }["LEPTOS_SITE_ADDR"] == "0.0.0.0:3000" &&
      { for e in jsondecode(aws_ecs_task_definition.web.container_definitions)[0].environment : e.name => e.value }["VANGUARD_ENV"] == "production" &&
      { for e in jsondecode(aws_ecs_task_definition.web.container_definitions)[0].environment : e.name => e.value }["VANGUARD_WORKERS"] == "0" &&
      { for e in jsondecode(aws_ecs_task_definition.web.container_definitions)[0].environment : e.name => e.value }["VANGUARD_STORAGE_URL"] == "s3://vanguard-claims/production"
    )
    error_message = "web environment not merged as expected"
  }

  assert {
    condition     = [for s in jsondecode(aws_ecs_task_definition.web.container_definitions)[0].secrets : s.valueFrom] == [var.database_url_secret_arn, var.master_key_secret_arn, var.jwt_secret_secret_arn]
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
    condition     = aws_appautoscaling_target.web.resource_id == "service/example/vanguard-web"
    error_message = "autoscaling target resource id wrong"
  }

  assert {
    condition     = aws_appautoscaling_policy.web_cpu.target_tracking_scaling_policy_configuration[0].target_value == 60
    error_message = "CPU target must default to 60%"
  }

  assert {
    condition     = startswith(aws_appautoscaling_policy.web_requests.target_tracking_scaling_policy_configuration[0].predefined_metric_specification[0].resource_label, "app/example/0123456789abcdef/targetgroup/")
    error_message = "ALBRequestCountPerTarget resource label must be <alb arn suffix>/<target group arn suffix>"
  }
}

run "explicit_trusted_proxies_win" {
  command = plan

  variables {
    trusted_proxies = "10.9.0.0/16"
  }

  assert {
    condition     = { for e in jsondecode(aws_ecs_task_definition.web.container_definitions)[0].environment : e.name => e.value }["VANGUARD_TRUSTED_PROXIES"] == "10.9.0.0/16"
    error_message = "trusted_proxies variable ignored"
  }
}

run "storage_must_be_s3" {
  command = plan

  variables {
    storage_url = "/app/data/objects"
  }

  expect_failures = [var.storage_url]
}
