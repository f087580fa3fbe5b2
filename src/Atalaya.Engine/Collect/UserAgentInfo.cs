namespace Atalaya.Engine.Collect;

public readonly record struct UserAgentInfo(string DeviceType, string Os, string Browser);
