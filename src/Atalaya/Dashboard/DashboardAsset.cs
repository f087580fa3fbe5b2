namespace Atalaya.Dashboard;

/// <summary>One embedded dashboard file: its bytes, a gzip copy when that saves space, its type and ETag.</summary>
public sealed record DashboardAsset(byte[] Content, byte[]? Gzip, string ContentType, string ETag);
