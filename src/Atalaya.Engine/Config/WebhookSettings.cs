namespace Atalaya.Engine.Config;

/// <summary>
/// One provider allowed to POST <c>/api/webhooks/{provider}</c> (the key under <c>webhooks:</c>):
/// where its signing secret is (an environment variable, never this file), which header carries
/// the signature, how old a signed timestamp may be and how its events map to catalog events.
/// </summary>
public sealed class WebhookSettings
{
    /// <summary>The mappings Webhooks/WebhookMapper.cs implements, named here so the settings can be checked below it.</summary>
    internal const string StripeMapping = "stripe";

    internal const string OrderStatusMapping = "order_status";

    internal static readonly IReadOnlyList<string> MappingNames = [StripeMapping, OrderStatusMapping];

    /// <summary>Name of the environment variable holding the shared signing secret.</summary>
    public string SecretEnv { get; set; } = "";

    /// <summary>The header of the <c>t=UNIX,v1=HEX</c> signature (Stripe's is Stripe-Signature).</summary>
    public string SignatureHeader { get; set; } = "Webhook-Signature";

    /// <summary>How far the signed timestamp may be from now, either way.</summary>
    public int ToleranceSeconds { get; set; } = 300;

    /// <summary>How payloads become catalog events: <c>stripe</c> (payment intents) or <c>order_status</c>.</summary>
    public string Mapping { get; set; } = "";

    public void Validate(List<string> problems, string key)
    {
        if (string.IsNullOrWhiteSpace(SecretEnv))
        {
            problems.Add($"{key}.secret_env: name the environment variable that holds the provider's signing secret");
        }
        if (string.IsNullOrWhiteSpace(SignatureHeader))
        {
            problems.Add($"{key}.signature_header: must name a header");
        }
        if (ToleranceSeconds is < 1 or > 3600)
        {
            problems.Add($"{key}.tolerance_seconds: must be 1..3600, got {ToleranceSeconds}");
        }
        if (!MappingNames.Contains(Mapping))
        {
            problems.Add($"{key}.mapping: '{Mapping}' is not a mapping; use one of {string.Join(", ", MappingNames)}");
        }
    }
}
