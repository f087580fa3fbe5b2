using System.Text.Json;
using Atalaya.Engine.Collect;

namespace Atalaya.Tests.Collect;

public sealed class UserAgentCacheTests
{
    private const string Iphone = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1";
    private const string Windows = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36";

    [Fact]
    public void Gives_each_user_agent_its_own_parse_and_encoded_fields_however_often_it_repeats()
    {
        foreach (var round in Enumerable.Range(0, 3))
        {
            foreach (var (agent, expected) in new[] { (Iphone, UserAgentParser.Parse(Iphone)), (Windows, UserAgentParser.Parse(Windows)) })
            {
                var element = JsonDocument.Parse(JsonSerializer.Serialize(agent)).RootElement;
                var entry = UserAgentCache.Get(element);
                Assert.Equal(expected, entry.Info);
                Assert.Equal($"\"device_type\":\"{expected.DeviceType}\"", System.Text.Encoding.UTF8.GetString(entry.DeviceType!));
                Assert.Equal($"\"browser\":\"{expected.Browser}\"", System.Text.Encoding.UTF8.GetString(entry.Browser!));
            }
        }
        Assert.NotEqual(UserAgentParser.Parse(Iphone), UserAgentParser.Parse(Windows));
    }

    [Fact]
    public void Leaves_out_fields_the_parser_cannot_tell()
    {
        var entry = UserAgentCache.Get(JsonDocument.Parse("\"something-unrecognisable/1.0\"").RootElement);
        Assert.Equal("unknown", entry.Info.Browser);
        Assert.Null(entry.Browser);
    }
}
