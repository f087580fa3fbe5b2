using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Atalaya.Engine.Access;
using Atalaya.Tests.Support;

namespace Atalaya.Tests.Access;

/// <summary>Read tokens and write keys do not stand in for each other (docs/access.md): a leaked dashboard token cannot inject events, a leaked SDK key cannot read.</summary>
public sealed class KeySeparationTests
{
    [Fact]
    public async Task Read_tokens_of_every_role_cannot_send_events_by_any_collector_route()
    {
        await using var hub = await TestHub.StartAsync();
        var readers = new Dictionary<string, string>
        {
            ["admin"] = hub.CreateToken(Role.Admin),
            ["analyst"] = hub.CreateToken(Role.Analyst),
            ["country_ops_lead"] = hub.CreateToken(Role.CountryOpsLead, countries: ["MX"]),
            ["vendor"] = hub.CreateToken(Role.Vendor, stores: ["st-1"]),
        };
        var native = Events.Valid("page_view").ToJsonString();
        foreach (var (role, token) in readers)
        {
            using var bearer = await hub.PostEventsAsync(native, key: token);
            Assert.True(bearer.StatusCode == HttpStatusCode.Forbidden, $"POST /api/events with a {role} token: {(int)bearer.StatusCode}");
            using var basic = await hub.PostSegmentAsync("/v1/track", """{"type": "track", "event": "Product Viewed", "anonymousId": "a-1", "messageId": "m-1"}""", key: token);
            Assert.True(basic.StatusCode == HttpStatusCode.Forbidden, $"POST /v1/track with a {role} token as Basic user: {(int)basic.StatusCode}");
            using var inBody = await hub.PostSegmentAsync("/v1/batch",
                JsonSerializer.Serialize(new { writeKey = token, batch = new[] { new { type = "track", @event = "Signed Up", anonymousId = "a-2", messageId = "m-2" } } }), key: "");
            Assert.True(inBody.StatusCode == HttpStatusCode.Forbidden, $"POST /v1/batch with a {role} token as writeKey: {(int)inBody.StatusCode}");
        }

        Assert.Equal(0, StoredEvents.Count(hub.DataDirectory));
        using var accepted = await hub.PostEventsAsync(native);
        Assert.Equal(HttpStatusCode.OK, accepted.StatusCode);
        Assert.Equal(1, StoredEvents.Count(hub.DataDirectory));
    }

    [Fact]
    public async Task Write_keys_get_403_on_every_read_and_admin_endpoint_of_the_openapi_document()
    {
        await using var hub = await TestHub.StartAsync();
        using var document = JsonDocument.Parse(await hub.Client.GetStringAsync(new Uri("/openapi/v1.json", UriKind.Relative)));
        var calls = new List<(HttpMethod Method, string Path)>();
        foreach (var path in document.RootElement.GetProperty("paths").EnumerateObject())
        {
            foreach (var operation in path.Value.EnumerateObject())
            {
                var method = new HttpMethod(operation.Name.ToUpperInvariant());
                // Provider webhooks take no token at all: their HMAC signature is the credential (Webhooks/WebhookTests).
                var collector = method == HttpMethod.Post && (path.Name == "/api/events" || path.Name.StartsWith("/v1/", StringComparison.Ordinal)
                    || path.Name.StartsWith("/beacon/v1/", StringComparison.Ordinal) || path.Name.StartsWith("/api/webhooks/", StringComparison.Ordinal));
                // Storefronts call /api/recommendations with their write key (RecommendationApiTests).
                if (!collector && path.Name is not ("/healthz" or "/readyz" or "/api/recommendations"))
                {
                    calls.Add((method, path.Name.Replace("{id}", "tok_000000000000", StringComparison.Ordinal)));
                }
            }
        }
        Assert.True(calls.Count >= 12, $"only {calls.Count} read and admin operations in the OpenAPI document");

        foreach (var (method, path) in calls)
        {
            using var request = new HttpRequestMessage(method, path + (path == "/api/kpi/timeseries" ? "?metric=gmv" : ""));
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", hub.WriteKey);
            if (method == HttpMethod.Post)
            {
                request.Content = new StringContent("""{"role": "admin"}""", Encoding.UTF8, "application/json");
            }
            using var response = await hub.Client.SendAsync(request);
            var body = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.Forbidden, $"{method} {path} with a write key: {(int)response.StatusCode} {body}");
        }
    }
}
