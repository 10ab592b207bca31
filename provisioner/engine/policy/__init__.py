"""Azure Policy built-in definitions, evaluated as Azure evaluates them: aliases, template functions, conditions,
applicability and existence checks over GET bodies (pure), plus the baseline we assign and its exemptions."""
