"""The engine: configuration, the Step contract, diff, field accounting, graph, reconciler, executor."""
