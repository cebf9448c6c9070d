namespace GppfActors.Host.Analysis;

/// <summary>One task's choice in one lego layer: the arg-max unit and every unit's probability.</summary>
internal sealed record LegoSelectionRow(string Task, int Layer, int Chosen, IReadOnlyList<double> Probabilities);
