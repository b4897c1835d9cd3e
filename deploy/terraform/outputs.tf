output "web_service_name" {
  description = "ECS service running the web tasks."
  value       = aws_ecs_service.web.name
}

output "worker_service_name" {
  description = "ECS service running `server worker`."
  value       = aws_ecs_service.worker.name
}

output "web_task_definition_arn" {
  description = "Task definition revision the web service runs."
  value       = aws_ecs_task_definition.web.arn
}

output "worker_task_definition_arn" {
  description = "Task definition revision the worker service runs."
  value       = aws_ecs_task_definition.worker.arn
}

output "target_group_arn" {
  description = "ALB target group of the web tasks."
  value       = aws_lb_target_group.web.arn
}

output "task_security_group_id" {
  description = "Security group of the tasks (allow it on the database's security group)."
  value       = aws_security_group.tasks.id
}

output "log_group_name" {
  description = "CloudWatch log group (streams web/... and worker/...)."
  value       = aws_cloudwatch_log_group.this.name
}

output "migrate_command" {
  description = "Runs `server migrate` once as a one-off task with the web task definition (run it before a deploy that adds migrations)."
  value = join(" ", [
    "aws ecs run-task",
    "--region ${var.region}",
    "--cluster ${data.aws_ecs_cluster.this.cluster_name}",
    "--launch-type FARGATE",
    "--task-definition ${aws_ecs_task_definition.web.arn}",
    "--network-configuration 'awsvpcConfiguration={subnets=[${join(",", var.private_subnet_ids)}],securityGroups=[${join(",", local.task_security_groups)}],assignPublicIp=DISABLED}'",
    "--overrides '{\"containerOverrides\":[{\"name\":\"${local.web_container_name}\",\"command\":[\"migrate\"]}]}'",
  ])
}
