"""The Service Mesh operator stand-in (Maistra / OSSM 2.5) and the control plane it installs:
operator.py runs the controllers, manifests.py says what a control plane consists of,
control_plane.py and members.py reconcile ServiceMeshControlPlanes and member rolls."""
