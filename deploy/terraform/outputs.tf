# Everything .github/workflows/deploy.yml needs is an output; the README's
# "Deploying" turns them into repository variables in one loop.

output "aws_region" {
  description = "AWS_REGION for deploy.yml."
  value       = var.region
}

output "aws_deploy_role_arn" {
  description = "AWS_DEPLOY_ROLE_ARN: the role deploy.yml assumes through GitHub OIDC."
  value       = try(aws_iam_role.deploy[0].arn, null)
}

output "ecr_repository_url" {
  description = "ECR_REPOSITORY_URL: push images here (tags are immutable, scanned on push)."
  value       = aws_ecr_repository.this.repository_url
}

output "ecs_cluster" {
  description = "ECS_CLUSTER."
  value       = aws_ecs_cluster.this.name
}

output "web_service" {
  description = "WEB_SERVICE: ECS service running the web tasks."
  value       = aws_ecs_service.web.name
}

output "worker_service" {
  description = "WORKER_SERVICE: ECS service running `server worker`."
  value       = aws_ecs_service.worker.name
}

output "web_task_family" {
  description = "WEB_TASK_FAMILY."
  value       = aws_ecs_task_definition.web.family
}

output "worker_task_family" {
  description = "WORKER_TASK_FAMILY."
  value       = aws_ecs_task_definition.worker.family
}

output "task_subnets" {
  description = "TASK_SUBNETS: private subnets, comma-separated (the migration task runs there)."
  value       = join(",", aws_subnet.private[*].id)
}

output "task_security_groups" {
  description = "TASK_SECURITY_GROUPS: comma-separated."
  value       = join(",", local.task_security_groups)
}

output "public_hostname" {
  description = "PUBLIC_HOSTNAME: where the smoke test reaches /health/ready."
  value       = var.hostname
}

output "alb_dns_name" {
  description = "Load balancer DNS name (point hostname at it when Route 53 is not managed here)."
  value       = aws_lb.public.dns_name
}

output "storage_url" {
  description = "VANGUARD_STORAGE_URL the tasks use."
  value       = local.storage_url
}

output "master_key_secret_arn" {
  description = "Put VANGUARD_MASTER_KEY here before the first tasks start."
  value       = aws_secretsmanager_secret.master_key.arn
}

output "jwt_secret_secret_arn" {
  description = "Put VANGUARD_JWT_SECRET here before the first tasks start."
  value       = aws_secretsmanager_secret.jwt_secret.arn
}

output "database_endpoint" {
  description = "RDS endpoint (private)."
  value       = aws_db_instance.this.endpoint
}

output "log_group_name" {
  description = "CloudWatch log group (streams web/... and worker/...)."
  value       = aws_cloudwatch_log_group.this.name
}

output "migrate_command" {
  description = "Runs `server migrate` once as a one-off task with the current web task definition (deploy.yml does this on every deploy)."
  value = join(" ", [
    "aws ecs run-task",
    "--region ${var.region}",
    "--cluster ${aws_ecs_cluster.this.name}",
    "--launch-type FARGATE",
    "--task-definition ${aws_ecs_task_definition.web.family}",
    "--network-configuration 'awsvpcConfiguration={subnets=[${join(",", aws_subnet.private[*].id)}],securityGroups=[${join(",", local.task_security_groups)}],assignPublicIp=DISABLED}'",
    "--overrides '{\"containerOverrides\":[{\"name\":\"${local.web_container_name}\",\"command\":[\"migrate\"]}]}'",
  ])
}
