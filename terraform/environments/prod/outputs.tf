output "helm_values" {
  description = "Helm values of this environment's resources (docs/deploy.md)."
  value       = module.platform.helm_values
}

output "fin_assets_env" {
  description = "Environment of the fin_assets pods: the ConfigMap fin-assets-infra."
  value       = module.platform.fin_assets_env
}

output "emr_cluster_settings" {
  description = "Service role, instance profile and security configuration of EMR clusters."
  value       = module.platform.emr_cluster_settings
}
