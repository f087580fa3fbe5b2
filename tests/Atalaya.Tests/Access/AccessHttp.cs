using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace Atalaya.Tests.Access;

/// <summary>Plain HTTP calls with a Bearer token (or none), answering the status and the body as text.</summary>
public static class AccessHttp
{
    public static async Task<(HttpStatusCode Status, string Body)> SendAsync(HttpClient client, HttpMethod method, string pathAndQuery,
        string? bearer, string? json = null)
    {
        using var request = new HttpRequestMessage(method, pathAndQuery);
        if (bearer is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
        }
        if (json is not null)
        {
            request.Content = new StringContent(json, Encoding.UTF8, "application/json");
        }
        using var response = await client.SendAsync(request);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    public static Task<(HttpStatusCode Status, string Body)> GetAsync(HttpClient client, string pathAndQuery, string? bearer) =>
        SendAsync(client, HttpMethod.Get, pathAndQuery, bearer);

    /// <summary>GETs and parses an answer that must be 200.</summary>
    public static async Task<JsonElement> GetJsonAsync(HttpClient client, string pathAndQuery, string bearer)
    {
        var (status, body) = await GetAsync(client, pathAndQuery, bearer);
        Assert.True(status == HttpStatusCode.OK, $"GET {pathAndQuery} answered {(int)status}: {body}");
        using var document = JsonDocument.Parse(body);
        return document.RootElement.Clone();
    }

    /// <summary>The <c>error</c> message of an error answer.</summary>
    public static string Error(string body)
    {
        using var document = JsonDocument.Parse(body);
        return document.RootElement.GetProperty("error").GetString()!;
    }
}
