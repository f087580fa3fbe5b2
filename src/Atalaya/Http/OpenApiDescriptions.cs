using Microsoft.OpenApi;

namespace Atalaya.Http;

/// <summary>Names, tags and the query parameters of a metrics endpoint in the OpenAPI document.</summary>
public static class OpenApiDescriptions
{
    /// <summary>How <c>metric</c> reads on endpoints that answer one KPI (the time series, the peer benchmark).</summary>
    private const string SingleMetric = "One KPI id, required (e.g. gmv; see /api/kpi/definitions).";

    public static RouteHandlerBuilder Describe(this RouteHandlerBuilder endpoint, string name, string summary, IReadOnlyList<string> parameters, bool singleMetric = false) =>
        endpoint.WithName(name).WithTags("Metrics").WithSummary(summary).Refusals()
            .AddOpenApiOperationTransformer((operation, _, _) =>
            {
                operation.Parameters ??= [];
                foreach (var parameter in parameters)
                {
                    operation.Parameters.Add(new OpenApiParameter
                    {
                        Name = parameter,
                        In = ParameterLocation.Query,
                        Required = parameter == "steps" || (singleMetric && parameter == "metric"),
                        Description = singleMetric && parameter == "metric" ? SingleMetric : KpiParameters.Descriptions[parameter],
                        Schema = new OpenApiSchema { Type = parameter is "limit" or "hours" or "window" ? JsonSchemaType.Integer : JsonSchemaType.String },
                    });
                }
                operation.Parameters.Add(new OpenApiParameter
                {
                    Name = "Authorization",
                    In = ParameterLocation.Header,
                    Required = true,
                    Description = "Bearer <read token> (admin, analyst, country_ops_lead or vendor).",
                    Schema = new OpenApiSchema { Type = JsonSchemaType.String },
                });
                return Task.CompletedTask;
            });

    /// <summary>Query parameters of an operations endpoint (audit, runs), each with its description; <c>limit</c> is an integer.</summary>
    public static RouteHandlerBuilder QueryParameters(this RouteHandlerBuilder endpoint, params (string Name, string Description)[] parameters) =>
        endpoint.AddOpenApiOperationTransformer((operation, _, _) =>
        {
            operation.Parameters ??= [];
            foreach (var (name, description) in parameters)
            {
                operation.Parameters.Add(new OpenApiParameter
                {
                    Name = name,
                    In = ParameterLocation.Query,
                    Description = description,
                    Schema = new OpenApiSchema { Type = name == "limit" ? JsonSchemaType.Integer : JsonSchemaType.String },
                });
            }
            return Task.CompletedTask;
        });
}
