"""The DAG deployment function (see ``handler``)."""
