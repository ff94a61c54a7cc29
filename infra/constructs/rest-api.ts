import { ArnFormat, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as wafv2 from 'aws-cdk-lib/aws-wafv2';
import { Construct } from 'constructs';
import { gatewayResponseHeaderMappings, gatewayResponses } from '#functions/gateway-responses';
import { type FunctionId, type HttpRoute, isPublic } from '#functions/route-table';
import type { StageConfig } from '#infra/config/stages';
import type { AppFunction } from '#infra/constructs/app-function';
import { acknowledge, REASONS } from '#infra/nag';

/**
 * Managed rules that would refuse legitimate calls, counted instead of blocking (their matches are still
 * logged and charted), each with the reason.
 */
export const WAF_COUNTED_RULES: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  AWSManagedRulesCommonRuleSet: {
    SizeRestrictions_BODY:
      'blocks bodies over 8 KB; the API accepts up to 16 KiB (MAX_BODY_BYTES) and answers a larger one with 413',
    NoUserAgent_HEADER:
      'blocks requests without a User-Agent; service callers (SDKs, curl in scripts, health probes) may send none, ' +
      'and every /api/v1 call is authenticated by its token anyway',
  },
};

export interface RestApiProps {
  readonly stage: StageConfig;
  readonly apiName: string;
  readonly routes: readonly HttpRoute[];
  readonly functions: Readonly<Record<FunctionId, AppFunction>>;
  /** The Lambda authorizer: guards every route but the public (health) ones. */
  readonly authorizer: apigw.IAuthorizer;
}

/**
 * API Gateway REST API (v1 proxy events) built from the route table: one Lambda proxy integration
 * per function, one method per route, the Lambda authorizer on every non-public route, JSON gateway
 * responses, access and execution logs, X-Ray, stage throttling, and a WAF web ACL where the target
 * supports it.
 */
export class RestApi extends Construct {
  readonly api: apigw.RestApi;
  readonly methods: readonly apigw.Method[];
  /** The WAF web ACL's name (its CloudWatch `WebACL` dimension), where the stage has one. */
  readonly webAclName?: string;

  constructor(scope: Construct, id: string, props: RestApiProps) {
    super(scope, id);
    const { stage } = props;

    const accessLogs = new logs.LogGroup(this, 'AccessLogs', {
      retention: stage.logRetentionDays,
      removalPolicy: stage.protectData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });

    this.api = new apigw.RestApi(this, 'Api', {
      restApiName: props.apiName,
      description: 'Traffic Manager: resolve and manage routes',
      endpointTypes: [apigw.EndpointType.REGIONAL],
      cloudWatchRole: stage.api.manageAccountLoggingRole,
      // The account-level logging role outlives this API: other APIs in the region log through it.
      ...(stage.api.manageAccountLoggingRole ? { cloudWatchRoleRemovalPolicy: RemovalPolicy.RETAIN } : {}),
      deployOptions: {
        stageName: stage.name,
        tracingEnabled: true,
        metricsEnabled: true,
        loggingLevel: apigw.MethodLoggingLevel.ERROR,
        // Full request/response logging would write tenant data and headers to CloudWatch.
        dataTraceEnabled: false,
        throttlingRateLimit: stage.api.throttleRatePerSecond,
        throttlingBurstLimit: stage.api.throttleBurst,
        accessLogDestination: new apigw.LogGroupLogDestination(accessLogs),
        accessLogFormat: apigw.AccessLogFormat.jsonWithStandardFields({
          caller: false,
          httpMethod: true,
          ip: true,
          protocol: true,
          requestTime: true,
          resourcePath: true,
          responseLength: true,
          status: true,
          user: false,
        }),
      },
    });
    const cloudWatchRole = this.api.node.tryFindChild('CloudWatchRole');
    if (cloudWatchRole) {
      acknowledge(cloudWatchRole, {
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
        reason:
          'The region-wide API Gateway logging role (AWS::ApiGateway::Account) is the one role AWS documents ' +
          'with this managed policy; only apigateway.amazonaws.com can assume it',
      });
    }

    // Enforces whatever parameters/models a method declares; the handlers still validate with zod.
    const validator = this.api.addRequestValidator('RequestValidator', {
      validateRequestParameters: true,
      validateRequestBody: true,
    });

    const integrations = new Map<FunctionId, apigw.LambdaIntegration>();
    const integrationFor = (fn: FunctionId): apigw.LambdaIntegration => {
      let integration = integrations.get(fn);
      if (!integration) {
        integration = new apigw.LambdaIntegration(props.functions[fn].target, {
          proxy: true,
          allowTestInvoke: false,
        });
        integrations.set(fn, integration);
      }
      return integration;
    };

    this.methods = props.routes.map((route) => {
      const guarded = !isPublic(route);
      const method = this.api.root
        .resourceForPath(route.path)
        .addMethod(route.method, integrationFor(route.fn), {
          requestValidator: validator,
          ...(guarded
            ? { authorizer: props.authorizer, authorizationType: apigw.AuthorizationType.CUSTOM }
            : { authorizationType: apigw.AuthorizationType.NONE }),
        });
      if (guarded) {
        acknowledge(method, { id: 'AwsSolutions-COG4', reason: REASONS.tokenAuthorizer });
      } else {
        const reason = REASONS.publicHealth;
        acknowledge(method, { id: 'AwsSolutions-APIG4', reason }, { id: 'AwsSolutions-COG4', reason });
      }
      return method;
    });
    this.addJsonGatewayResponses();

    if (stage.api.waf) {
      this.webAclName = `${props.apiName}-api`;
      this.attachWebAcl(this.webAclName, stage);
    } else {
      acknowledge(this.api.deploymentStage, {
        id: 'AwsSolutions-APIG3',
        reason: `No WAF on the ${stage.name} stage: community LocalStack has no WAFv2; the AWS stages attach a web ACL`,
      });
    }
  }

  get url(): string {
    return this.api.url;
  }

  /**
   * API Gateway's own answers (authorizer refusals, throttling, unknown paths, …) in the handlers' JSON
   * shape, from the table the local runner answers with too; anything else 4xx/5xx keeps its status
   * and gets a JSON body as well.
   */
  private addJsonGatewayResponses(): void {
    // Literals are quoted; the mappings (X-Correlation-ID from context.requestId) are expressions.
    const headers = (extra: Readonly<Record<string, string>> = {}) => ({
      ...Object.fromEntries(
        Object.entries({ 'content-type': 'application/json', ...extra }).map(([k, v]) => [k, `'${v}'`]),
      ),
      ...gatewayResponseHeaderMappings,
    });
    for (const [type, spec] of Object.entries(gatewayResponses)) {
      this.api.addGatewayResponse(type, {
        type: apigw.ResponseType.of(type),
        statusCode: String(spec.status),
        responseHeaders: headers('headers' in spec ? spec.headers : {}),
        templates: { 'application/json': JSON.stringify({ error: spec.error, message: spec.message }) },
      });
    }
    for (const [type, error] of [
      ['DEFAULT_4XX', 'bad_request'],
      ['DEFAULT_5XX', 'gateway_error'],
    ] as const) {
      this.api.addGatewayResponse(type, {
        type: apigw.ResponseType.of(type),
        responseHeaders: headers(),
        // $context.error.messageString is already a quoted JSON string.
        templates: { 'application/json': `{"error":"${error}","message":$context.error.messageString}` },
      });
    }
  }

  /**
   * The web ACL: AWS's common and known-bad-inputs rule groups, with the two rules that would refuse legitimate
   * calls only counted (WAF_COUNTED_RULES), and rate limits per API token rather than per source address;
   * blocked and counted requests are logged with the Authorization header redacted.
   */
  private attachWebAcl(name: string, stage: StageConfig): void {
    const visibility = (metricName: string): wafv2.CfnWebACL.VisibilityConfigProperty => ({
      cloudWatchMetricsEnabled: true,
      sampledRequestsEnabled: true,
      metricName,
    });
    const managed = (ruleName: string, priority: number): wafv2.CfnWebACL.RuleProperty => {
      const counted = Object.keys(WAF_COUNTED_RULES[ruleName] ?? {});
      return {
        name: ruleName,
        priority,
        overrideAction: { none: {} },
        statement: {
          managedRuleGroupStatement: {
            vendorName: 'AWS',
            name: ruleName,
            ...(counted.length > 0
              ? { ruleActionOverrides: counted.map((rule) => ({ name: rule, actionToUse: { count: {} } })) }
              : {}),
          },
        },
        visibilityConfig: visibility(ruleName),
      };
    };
    const authorization = 'authorization';
    // SingleHeader is untyped JSON in the L1 (passed through as is): CloudFormation's own casing.
    const authorizationHeader = { Name: authorization };
    const limits = stage.api.wafRateLimits;
    const acl = new wafv2.CfnWebACL(this, 'WebAcl', {
      name,
      scope: 'REGIONAL',
      defaultAction: { allow: {} },
      visibilityConfig: visibility(`${name}-web-acl`),
      rules: [
        managed('AWSManagedRulesCommonRuleSet', 0),
        managed('AWSManagedRulesKnownBadInputsRuleSet', 1),
        {
          // Per token: callers behind one NAT address each keep their own budget. Requests without the
          // header are left out of this rule by WAF (a missing key component) and counted by the next one.
          name: 'RateLimitPerToken',
          priority: 2,
          action: { block: {} },
          statement: {
            rateBasedStatement: {
              limit: limits.perToken,
              evaluationWindowSec: 300,
              aggregateKeyType: 'CUSTOM_KEYS',
              customKeys: [
                { header: { name: authorization, textTransformations: [{ priority: 0, type: 'NONE' }] } },
              ],
            },
          },
          visibilityConfig: visibility('RateLimitPerToken'),
        },
        {
          name: 'RateLimitPerIpWithoutToken',
          priority: 3,
          action: { block: {} },
          statement: {
            rateBasedStatement: {
              limit: limits.perIpUnauthenticated,
              evaluationWindowSec: 300,
              aggregateKeyType: 'IP',
              scopeDownStatement: {
                notStatement: {
                  statement: {
                    sizeConstraintStatement: {
                      fieldToMatch: { singleHeader: authorizationHeader },
                      comparisonOperator: 'GT',
                      size: 0,
                      textTransformations: [{ priority: 0, type: 'NONE' }],
                    },
                  },
                },
              },
            },
          },
          visibilityConfig: visibility('RateLimitPerIpWithoutToken'),
        },
      ],
    });
    new wafv2.CfnWebACLAssociation(this, 'WebAclAssociation', {
      resourceArn: this.api.deploymentStage.stageArn,
      webAclArn: acl.attrArn,
    });

    // WAF requires the `aws-waf-logs-` prefix; only what a rule blocked or counted is kept.
    const wafLogs = new logs.LogGroup(this, 'WafLogs', {
      logGroupName: `aws-waf-logs-${name}`,
      retention: stage.logRetentionDays,
      removalPolicy: stage.protectData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });
    new wafv2.CfnLoggingConfiguration(this, 'WafLogging', {
      resourceArn: acl.attrArn,
      logDestinationConfigs: [
        Stack.of(this).formatArn({
          service: 'logs',
          resource: 'log-group',
          resourceName: wafLogs.logGroupName,
          arnFormat: ArnFormat.COLON_RESOURCE_NAME,
        }),
      ],
      redactedFields: [{ singleHeader: authorizationHeader }],
      loggingFilter: {
        DefaultBehavior: 'DROP',
        Filters: [
          {
            Behavior: 'KEEP',
            Requirement: 'MEETS_ANY',
            Conditions: [{ ActionCondition: { Action: 'BLOCK' } }, { ActionCondition: { Action: 'COUNT' } }],
          },
        ],
      },
    });
  }
}
