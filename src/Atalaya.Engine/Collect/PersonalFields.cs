using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Atalaya.Engine.Collect;

/// <summary>
/// What an erasure changes in one stored event (or one quarantined payload): the person's ids become
/// their pseudonyms wherever they appear, and — in the person's own events — the personal fields are
/// dropped: IP, user agent, traits, e-mail or phone values in properties, and the query strings of
/// page URLs and referrers. Everything the KPIs read (type, time, session, store, amounts, items,
/// context dimensions) is left exactly as it was, in the same member order, so every figure stays.
/// </summary>
internal static partial class PersonalFields
{
    /// <summary>Members naming a person, native and Segment spellings.</summary>
    private static readonly string[] IdMembers = ["user_id", "anonymous_id", "previous_id", "userId", "anonymousId", "previousId"];

    private static readonly string[] DroppedContext = ["ip", "user_agent", "userAgent", "traits"];

    private static readonly string[] UrlMembers = ["page_url", "referrer", "url", "path", "search"];

    /// <summary>Property names whose values are personal whatever they hold.</summary>
    private static readonly HashSet<string> PersonalNames = new(StringComparer.OrdinalIgnoreCase)
    {
        "email", "e_mail", "mail", "phone", "phone_number", "phoneNumber", "mobile", "telephone",
        "first_name", "last_name", "firstName", "lastName", "full_name", "address", "birthday", "traits",
    };

    [GeneratedRegex(@"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
    private static partial Regex EmailShape();

    /// <summary>
    /// The id members of <paramref name="e"/> that are string values, and an alias's previous id,
    /// which a Segment <c>alias</c> call stores as <c>properties.previous_id</c> (member
    /// <see cref="AliasPreviousId"/>).
    /// </summary>
    public static IEnumerable<(string Member, string Value)> Ids(JsonObject e)
    {
        foreach (var member in IdMembers)
        {
            if (e[member] is JsonValue v && v.TryGetValue<string>(out var text))
            {
                yield return (member, text);
            }
        }
        if (AliasPrevious(e) is { } previous)
        {
            yield return (AliasPreviousId, previous);
        }
    }

    /// <summary>The member name <see cref="Ids"/> gives an alias's <c>properties.previous_id</c>.</summary>
    public const string AliasPreviousId = "properties.previous_id";

    /// <summary>The previous id an alias event links to its user id, or null.</summary>
    public static string? AliasPrevious(JsonObject e) =>
        Text(e, "event_type") == "alias" && e["properties"] is JsonObject properties
            && properties["previous_id"] is JsonValue v && v.TryGetValue<string>(out var text) ? text : null;

    /// <summary>Whose event it is: the user id, else the anonymous id (the KPIs' definition of a user).</summary>
    public static string? Subject(JsonObject e) =>
        Text(e, "user_id") ?? Text(e, "userId") ?? Text(e, "anonymous_id") ?? Text(e, "anonymousId");

    private static string? Text(JsonObject e, string member) =>
        e[member] is JsonValue v && v.TryGetValue<string>(out var text) ? text : null;

    /// <summary>
    /// Rewrites <paramref name="e"/> in place. Returns whether anything changed. The personal fields
    /// go only when the event is the person's (<see cref="Subject"/> is one of their ids); an event
    /// of someone else that merely names one of their ids gets the pseudonym there and nothing else.
    /// </summary>
    public static bool Scrub(JsonObject e, IReadOnlyDictionary<string, string> pseudonyms)
    {
        var theirs = Subject(e) is { } subject && pseudonyms.ContainsKey(subject);
        var changed = false;
        foreach (var (member, value) in Ids(e).ToList())
        {
            if (pseudonyms.TryGetValue(value, out var pseudonym))
            {
                if (member == AliasPreviousId)
                {
                    e["properties"]!["previous_id"] = pseudonym;
                }
                else
                {
                    e[member] = pseudonym;
                }
                changed = true;
            }
        }
        return theirs ? DropPersonalFields(e) | changed : changed;
    }

    /// <summary>Drops the personal fields of an event (its ids stay): IP, user agent, traits, e-mail or phone values, URL query strings.</summary>
    public static bool DropPersonalFields(JsonObject e)
    {
        var changed = e.Remove("traits");
        if (e["context"] is JsonObject context)
        {
            foreach (var member in DroppedContext)
            {
                changed |= context.Remove(member);
            }
            changed |= StripQueries(context);
            if (context["page"] is JsonObject page)
            {
                changed |= StripQueries(page);
            }
        }
        if (e["properties"] is JsonObject properties)
        {
            changed |= ScrubProperties(properties);
        }
        return changed;
    }

    private static bool StripQueries(JsonObject o)
    {
        var changed = false;
        foreach (var member in UrlMembers)
        {
            if (o[member] is JsonValue v && v.TryGetValue<string>(out var url))
            {
                var cut = url.IndexOfAny(['?', '#']);
                if (member == "search" && url.Length > 0)
                {
                    o[member] = "";
                    changed = true;
                }
                else if (cut >= 0)
                {
                    o[member] = url[..cut];
                    changed = true;
                }
            }
        }
        return changed;
    }

    private static bool ScrubProperties(JsonObject properties)
    {
        var changed = StripQueries(properties);
        foreach (var (name, value) in properties.ToList())
        {
            if (PersonalNames.Contains(name) || (value is JsonValue v && v.TryGetValue<string>(out var text) && EmailShape().IsMatch(text)))
            {
                properties.Remove(name);
                changed = true;
            }
            else if (value is JsonObject inner)
            {
                changed |= ScrubProperties(inner);
            }
            else if (value is JsonArray array)
            {
                foreach (var item in array)
                {
                    if (item is JsonObject element)
                    {
                        changed |= ScrubProperties(element);
                    }
                }
            }
        }
        return changed;
    }

    /// <summary>Drops IP, user agent, traits and URL queries from a collection payload's context (IP truncation and consent use the same list).</summary>
    public static bool IsDroppedContextMember(string name) => Array.IndexOf(DroppedContext, name) >= 0;
}
