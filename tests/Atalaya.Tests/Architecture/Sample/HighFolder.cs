namespace Atalaya.Tests.Architecture.Sample.High;

/// <summary>A higher folder that names the lower one, as it may.</summary>
internal static class HighFolder
{
    public static string Create() => Low.LowFolder.Name() + "-high";
}
