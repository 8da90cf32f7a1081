"""The Sail operator stand-in (OpenShift Service Mesh 3, istio-ecosystem/sail-operator)."""
