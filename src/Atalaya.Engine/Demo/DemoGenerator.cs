namespace Atalaya.Engine.Demo;

/// <summary>Temporary stand-in; replaced by the generator.</summary>
public static class DemoGenerator
{
    public static long WriteNdjson(DemoOptions options, Stream output, Action<long>? progress = null) => 0;
}
