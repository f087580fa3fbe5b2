namespace Atalaya.Engine.Collect;

internal readonly record struct UserAgentInfo(string DeviceType, string Os, string Browser);
