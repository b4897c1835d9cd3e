terraform {
  # Validated with Terraform 1.11.4.
  required_version = ">= 1.11.0" # write-only arguments (database password)

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # Validated with 5.100.0 (see ../README.md).
      version = ">= 5.100.0, < 6.0.0"
    }
  }

  # Configure your state backend here (or in a backend.tf next to this file), e.g.:
  # backend "s3" {
  #   bucket       = "example-terraform-state"
  #   key          = "vanguard/production.tfstate"
  #   region       = "eu-west-1"
  #   use_lockfile = true
  # }
}

provider "aws" {
  region = var.region

  default_tags {
    tags = merge({ Application = "vanguard", ManagedBy = "terraform" }, var.tags)
  }
}
