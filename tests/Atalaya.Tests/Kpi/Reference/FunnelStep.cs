namespace Atalaya.Tests.Kpi.Reference;

/// <summary>One step of a funnel answer; percentages unrounded, null over a zero base.</summary>
public sealed record FunnelStep(string Step, int Users, double? ConversionFromPrevious, double? ConversionFromFirst);
