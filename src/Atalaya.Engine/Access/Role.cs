namespace Atalaya.Engine.Access;

/// <summary>The roles of docs/access.md; <see cref="Write"/> is a collector write key.</summary>
public enum Role
{
    Admin,
    Analyst,
    CountryOpsLead,
    Vendor,
    Write,
}

public static class Roles
{
    public static string Name(Role role) => role switch
    {
        Role.Admin => "admin",
        Role.Analyst => "analyst",
        Role.CountryOpsLead => "country_ops_lead",
        Role.Vendor => "vendor",
        _ => "write",
    };

    public static bool TryParse(string? text, out Role role)
    {
        foreach (var candidate in Enum.GetValues<Role>())
        {
            if (string.Equals(Name(candidate), text, StringComparison.OrdinalIgnoreCase))
            {
                role = candidate;
                return true;
            }
        }
        role = default;
        return false;
    }

    public const string AllNames = "admin, analyst, country_ops_lead, vendor, write";
}
