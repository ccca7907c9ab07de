"""The bureau (民政局): reconciliation, verification, checkpoints, exports, dashboard and anomaly flags."""
